// maxPerUser on every way a reserve can be served: a keyless one-line reserve (batched), a keyed
// one (its answer is stored in its own transaction), a multi-line one, and a shopper whose earlier
// reservation has fallen due (expired first, on the one-at-a-time path). Each shopper already owns
// one unit in a confirmed order, so the limit counts what they hold, not only what they ask for.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, post, productOf, startTestApp, TTL_MS, type JsonResponse, type TestApp } from '../helpers/test-app.js';

const LIMIT = 3;

describe('the purchase limit on every reserve path', { timeout: 30_000 }, () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'LIMITED', totalQuantity: 100, maxPerUser: LIMIT });
    await createProduct(t, { sku: 'EXTRA', totalQuantity: 100 });
  });
  afterEach(() => t.close());

  /** Gives `userId` one unit of LIMITED in a confirmed order. */
  const ownOne = async (userId: string) => {
    const held = await post(t, '/inventory/reserve', { userId, sku: 'LIMITED', quantity: 1 });
    const order = await post(t, '/checkout/confirm', { userId, reservationId: held.body.data.reservationId });
    assert.equal(order.status, 201, order.raw);
  };

  const assertRefused = (res: JsonResponse, requested: number) => {
    assert.equal(res.status, 400, res.raw);
    assert.equal(res.body.code, 'PURCHASE_LIMIT_EXCEEDED');
    assert.deepEqual(res.body.details, { sku: 'LIMITED', maxPerUser: LIMIT, alreadyHeld: 1, requested });
  };

  const reservedOf = async (sku: string) => (await productOf(t, sku)).reservedQuantity;

  it('a keyless one-line reserve: up to the limit is held, one over is refused', async () => {
    await ownOne('at');
    await ownOne('over');
    assert.equal((await post(t, '/inventory/reserve', { userId: 'at', sku: 'LIMITED', quantity: 2 })).status, 201);
    assertRefused(await post(t, '/inventory/reserve', { userId: 'over', sku: 'LIMITED', quantity: 3 }), 3);
    assert.equal(await reservedOf('LIMITED'), 2);
  });

  it('a keyed one-line reserve: up to the limit is held, one over is refused', async () => {
    await ownOne('at');
    await ownOne('over');
    const keyed = (userId: string, quantity: number) =>
      post(t, '/inventory/reserve', { userId, sku: 'LIMITED', quantity }, { 'idempotency-key': `limit-${userId}` });
    assert.equal((await keyed('at', 2)).status, 201);
    assertRefused(await keyed('over', 3), 3);
    assert.equal(await reservedOf('LIMITED'), 2);
  });

  it('a multi-line reserve: up to the limit is held, one over is refused with nothing held', async () => {
    await ownOne('at');
    await ownOne('over');
    const multi = (userId: string, quantity: number) =>
      post(t, '/inventory/reserve', { userId, items: [{ sku: 'EXTRA', quantity: 1 }, { sku: 'LIMITED', quantity }] });
    assert.equal((await multi('at', 2)).status, 201);
    assertRefused(await multi('over', 3), 3);
    assert.equal(await reservedOf('LIMITED'), 2);
    assert.equal(await reservedOf('EXTRA'), 1);
  });

  it('a shopper with a due reservation: it no longer counts; up to the limit is held, one over is refused', async () => {
    await ownOne('at');
    await ownOne('over');
    // Each holds two more units in a reservation that then falls due, unswept.
    for (const userId of ['at', 'over']) {
      assert.equal((await post(t, '/inventory/reserve', { userId, sku: 'LIMITED', quantity: 2 })).status, 201);
    }
    t.clock.advance(TTL_MS);
    assert.equal((await post(t, '/inventory/reserve', { userId: 'at', sku: 'LIMITED', quantity: 2 })).status, 201);
    assertRefused(await post(t, '/inventory/reserve', { userId: 'over', sku: 'LIMITED', quantity: 3 }), 3);
    assert.equal(await reservedOf('LIMITED'), 2);
  });
});
