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

  it('a restocked order puts the unit back on sale', async () => {
    const r = (await reserve(t, 'first', 'RARE')).body.data;
    const order = (await post(t, '/checkout/confirm', { reservationId: r.reservationId, userId: 'first' })).body.data;
    assert.equal((await reserve(t, 'second', 'RARE')).status, 400);
    await post(t, `/order/${order.orderId}/payment`, { status: 'FAILED' });
    assert.equal((await reserve(t, 'second', 'RARE')).status, 201);
  });
});
