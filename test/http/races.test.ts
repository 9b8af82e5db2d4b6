// Concurrent requests that race for the same order or the same shopper. On SQLite transactions run
// one at a time; on PostgreSQL they run at once, and only the compare-and-sets and row locks keep
// these answers and counters exact. Both stores run every case.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, get, post, productOf, startTestApp, type JsonResponse, type TestApp } from '../helpers/test-app.js';

const counters = (p: { totalQuantity: number; reservedQuantity: number; soldQuantity: number }) => ({
  onHand: p.totalQuantity,
  reserved: p.reservedQuantity,
  sold: p.soldQuantity,
});

const serverErrors = (results: JsonResponse[]) => results.filter((r) => r.status >= 500).map((r) => r.raw);

describe('races for one order or one shopper', { timeout: 60_000 }, () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  // Opens the pool's connections before a burst: otherwise the first transaction may commit while
  // the others still wait for a new connection, and the burst never overlaps on PostgreSQL.
  const warmUp = (url: string) => Promise.all(Array.from({ length: 10 }, () => get(t, url)));

  const buy = async (userId: string, sku: string, quantity: number) => {
    const held = await post(t, '/inventory/reserve', { userId, sku, quantity });
    assert.equal(held.status, 201, held.raw);
    const order = await post(t, '/checkout/confirm', { userId, reservationId: held.body.data.reservationId });
    assert.equal(order.status, 201, order.raw);
    return order.body.data.orderId as string;
  };

  it('ten cancels and ten failed payments of one order at once restock it exactly once', async () => {
    await createProduct(t, { sku: 'RACED', totalQuantity: 10 });
    // Another buyer's order of the same sku keeps `sold` above zero, so a second restock would not
    // be stopped by the CHECK constraint: only the order's own compare-and-set can stop it.
    await buy('bystander', 'RACED', 3);
    const orderId = await buy('canceller', 'RACED', 2);
    assert.deepEqual(counters(await productOf(t, 'RACED')), { onHand: 5, reserved: 0, sold: 5 });
    await warmUp(`/order/${orderId}`);

    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => post(t, '/checkout/cancel', { userId: 'canceller', orderId })),
      ...Array.from({ length: 10 }, () => post(t, `/order/${orderId}/payment`, { status: 'FAILED' })),
    ]);

    assert.deepEqual(serverErrors(results), []);
    // Whichever move wins, the order ends cancelled; a cancel after it answers 200 again, a FAILED
    // payment after a cancel is a different outcome on a cancelled order (400 INVALID_STATE).
    for (const r of results) {
      if (r.status === 200) assert.equal(r.body.data.status, 'CANCELLED');
      else assert.deepEqual([r.status, r.body.code], [400, 'INVALID_STATE']);
    }
    assert.deepEqual(counters(await productOf(t, 'RACED')), { onHand: 7, reserved: 0, sold: 3 });
    const restocks = (await get(t, '/inventory/RACED/movements?limit=100')).body.data.filter(
      (m: { reason: string }) => m.reason === 'RESTOCK',
    );
    assert.equal(restocks.length, 1);
    assert.equal((await get(t, `/order/${orderId}`)).body.data.status, 'CANCELLED');
  });

  it('one shopper sending twelve identical multi-line reserves at once gets one reservation, within maxPerUser', async () => {
    await createProduct(t, { sku: 'CAPPED', totalQuantity: 100, maxPerUser: 2 });
    await createProduct(t, { sku: 'SIDE', totalQuantity: 100 });
    const items = [
      { sku: 'CAPPED', quantity: 2 },
      { sku: 'SIDE', quantity: 1 },
    ];
    await warmUp('/reservation/none');
    const results = await Promise.all(
      Array.from({ length: 12 }, () => post(t, '/inventory/reserve', { userId: 'eager', items })),
    );

    assert.deepEqual(serverErrors(results), []);
    const created = results.filter((r) => r.status === 201);
    assert.equal(created.length, 1);
    // The others ran after it and found it live: the same reservation, answered as a replay.
    const replays = results.filter((r) => r.status === 200);
    assert.equal(replays.length, 11);
    const id = created[0]?.body.data.reservationId;
    for (const r of replays) assert.deepEqual([r.body.data.reservationId, r.body.data.isIdempotent], [id, true]);
    assert.equal((await productOf(t, 'CAPPED')).reservedQuantity, 2);
    assert.equal((await productOf(t, 'SIDE')).reservedQuantity, 1);
  });

  it('one shopper sending twelve different reserves of a limited sku at once holds one, within maxPerUser', async () => {
    await createProduct(t, { sku: 'CAPPED', totalQuantity: 100, maxPerUser: 2 });
    for (let i = 0; i < 12; i++) await createProduct(t, { sku: `SIDE${i}`, totalQuantity: 5 });
    await warmUp('/reservation/none');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(t, '/inventory/reserve', {
          userId: 'eager',
          items: [
            { sku: 'CAPPED', quantity: 2 },
            { sku: `SIDE${i}`, quantity: 1 },
          ],
        }),
      ),
    );

    assert.deepEqual(serverErrors(results), []);
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    const conflicts = results.filter((r) => r.status === 409);
    assert.equal(conflicts.length, 11);
    for (const r of conflicts) assert.equal(r.body.code, 'RESERVATION_CONFLICT');
    assert.equal((await productOf(t, 'CAPPED')).reservedQuantity, 2);
    let sides = 0;
    for (let i = 0; i < 12; i++) sides += (await productOf(t, `SIDE${i}`)).reservedQuantity;
    assert.equal(sides, 1);
  });
});
