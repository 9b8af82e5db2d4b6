import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, get, post, productOf, reserve, startTestApp, TEST_STORE, TTL_MS, type TestApp } from '../helpers/test-app.js';

// The sold-out fast path may only ever say "no" when the store has proved there is nothing left.
describe('sold-out refusals', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'RARE', totalQuantity: 1 });
  });
  afterEach(() => t.close());

  const ledgerSize = async () => (await get(t, '/inventory/RARE/movements?limit=1000')).body.data.length;

  it('a sold-out storm is refused without writing anything', async () => {
    assert.equal((await reserve(t, 'first', 'RARE')).status, 201);
    const before = await ledgerSize();
    const refused = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve(t, `late-${i}`, 'RARE')));
    for (const r of refused) {
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.details, { sku: 'RARE', requested: 1, available: 0 });
    }
    assert.equal(await ledgerSize(), before);
    assert.equal((await productOf(t, 'RARE')).reservedQuantity, 1);
  });

  it('a cancelled unit is on sale again at once', async () => {
    const first = (await reserve(t, 'first', 'RARE')).body.data;
    assert.equal((await reserve(t, 'second', 'RARE')).status, 400);
    await post(t, '/inventory/reserve/cancel', { reservationId: first.reservationId, userId: 'first' });
    assert.equal((await reserve(t, 'second', 'RARE')).status, 201);
  });

  it('a unit is on sale again the moment its reservation falls due, sweeper or not', async () => {
    await reserve(t, 'first', 'RARE');
    assert.equal((await reserve(t, 'second', 'RARE')).status, 400);
    t.clock.advance(TTL_MS - 1);
    assert.equal((await reserve(t, 'second', 'RARE')).status, 400);
    t.clock.advance(1);
    assert.equal((await reserve(t, 'second', 'RARE')).status, 201);
  });

  // Group commit is SQLite's: on PostgreSQL the two requests are separate transactions racing on a
  // pool, so their order is not defined and the assertion would be a coin toss.
  const sqliteBatching = TEST_STORE === 'sqlite' ? {} : { skip: 'group commit batches exist only on SQLite' };
  it('a release earlier in the same commit batch is seen by a reserve later in it', sqliteBatching, async () => {
    const first = (await reserve(t, 'first', 'RARE')).body.data;
    assert.equal((await reserve(t, 'second', 'RARE')).status, 400);
    // Issued together, so the store runs them in one batch, the cancel first.
    const [cancelled, second] = await Promise.all([
      post(t, '/inventory/reserve/cancel', { reservationId: first.reservationId, userId: 'first' }),
      reserve(t, 'second', 'RARE'),
    ]);
    assert.equal(cancelled.status, 200);
    assert.equal(second.status, 201);
  });

  // The fast path may only refuse someone the full path would refuse as sold out: a holder's
  // repeat is answered by the duplicate rule with their reservation.
  it('a holder of the sold-out sku who repeats their reserve gets their reservation back, not a refusal', async () => {
    const first = await reserve(t, 'first', 'RARE');
    assert.equal(first.status, 201);
    // This refusal proves the sku sold out (marking it, where there is a sold-out hint).
    assert.equal((await reserve(t, 'second', 'RARE')).body.code, 'INSUFFICIENT_INVENTORY');
    const again = await reserve(t, 'first', 'RARE');
    assert.equal(again.status, 200, again.raw);
    assert.equal(again.body.data.reservationId, first.body.data.reservationId);
    assert.equal(again.body.data.isIdempotent, true);
    assert.equal((await reserve(t, 'second', 'RARE')).body.code, 'INSUFFICIENT_INVENTORY');
    assert.equal((await productOf(t, 'RARE')).reservedQuantity, 1);
  });

  it('a refusal still expires the shopper\'s own due reservation of another sku first', async () => {
    await createProduct(t, { sku: 'NONE', totalQuantity: 0 });
    await createProduct(t, { sku: 'OTHER', totalQuantity: 1 });
    // Proved sold out while nothing at all was live; the shopper's reservation comes afterwards.
    assert.equal((await reserve(t, 'first', 'NONE')).body.code, 'INSUFFICIENT_INVENTORY');
    assert.equal((await reserve(t, 'shopper', 'OTHER')).status, 201);
    t.clock.advance(TTL_MS);
    const refused = await reserve(t, 'shopper', 'NONE');
    assert.equal(refused.body.code, 'INSUFFICIENT_INVENTORY');
    assert.equal((await productOf(t, 'OTHER')).reservedQuantity, 0, 'the shopper\'s due reservation was expired by their reserve');
  });

  const sqliteFastPath = TEST_STORE === 'sqlite' ? {} : { skip: 'the sold-out hint and transactionsQueued exist only on SQLite' };
  it('a sold-out storm queues no transaction', sqliteFastPath, async () => {
    const { writeQueue } = t.store;
    assert.ok(writeQueue, 'the SQLite store counts the transactions it queues');
    const queued = () => writeQueue.queued();
    assert.equal((await reserve(t, 'first', 'RARE')).status, 201);
    // The first refusal runs in a transaction and marks the sku sold out.
    const marking = queued();
    assert.equal((await reserve(t, 'second', 'RARE')).body.code, 'INSUFFICIENT_INVENTORY');
    assert.equal(queued() - marking, 1);
    const before = queued();
    const refused = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve(t, `late-${i}`, 'RARE')));
    for (const r of refused) {
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'INSUFFICIENT_INVENTORY');
      assert.deepEqual(r.body.details, { sku: 'RARE', requested: 1, available: 0 });
    }
    assert.equal(queued(), before);
  });

  // After a confirm the buyer holds no live reservation, so only the limited flag keeps the fast
  // path from answering them "sold out" instead of the purchase limit the full path judges first.
  it('with a purchase limit, a sold-out sku still answers the limit first', async () => {
    await createProduct(t, { sku: 'ONE', totalQuantity: 1, maxPerUser: 1 });
    const held = await reserve(t, 'x', 'ONE');
    assert.equal(held.status, 201);
    const confirmed = await post(t, '/checkout/confirm', { reservationId: held.body.data.reservationId, userId: 'x' });
    assert.equal(confirmed.status, 201, confirmed.raw);
    // A refusal that proves the sku sold out.
    assert.equal((await reserve(t, 'y', 'ONE')).body.code, 'INSUFFICIENT_INVENTORY');
    const again = await reserve(t, 'x', 'ONE');
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'PURCHASE_LIMIT_EXCEEDED', again.raw);
    assert.deepEqual(again.body.details, { sku: 'ONE', maxPerUser: 1, alreadyHeld: 1, requested: 1 });
    const other = await reserve(t, 'z', 'ONE');
    assert.equal(other.status, 400);
    assert.equal(other.body.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(other.body.details, { sku: 'ONE', requested: 1, available: 0 });
  });

  it('a restocked order puts the unit back on sale', async () => {
    const r = (await reserve(t, 'first', 'RARE')).body.data;
    const order = (await post(t, '/checkout/confirm', { reservationId: r.reservationId, userId: 'first' })).body.data;
    assert.equal((await reserve(t, 'second', 'RARE')).status, 400);
    await post(t, `/order/${order.orderId}/payment`, { status: 'FAILED' });
    assert.equal((await reserve(t, 'second', 'RARE')).status, 201);
  });
});
