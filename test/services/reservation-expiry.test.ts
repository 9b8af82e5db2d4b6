import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SWEEP_BATCH_SIZE } from '../../src/jobs/expiry-sweeper.js';
import { createProduct, get, post, productOf, reserve, startTestApp, TTL_MS, type TestApp } from '../helpers/test-app.js';

describe('expiry', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  const expireRows = async (sku: string) =>
    (await get(t, `/inventory/${sku}/movements?limit=1000`)).body.data.filter((m: { reason: string }) => m.reason === 'EXPIRE');

  it('stock held by an expired reservation is never refused, even before the sweeper runs', async () => {
    await createProduct(t, { sku: 'SOLO', totalQuantity: 1 });
    const first = (await reserve(t, 'early', 'SOLO')).body.data;
    assert.equal((await reserve(t, 'late', 'SOLO')).status, 400);
    t.clock.advance(TTL_MS);
    const late = await reserve(t, 'late', 'SOLO');
    assert.equal(late.status, 201);
    assert.equal((await get(t, `/reservation/${first.reservationId}`)).body.data.status, 'EXPIRED');
    assert.equal((await expireRows('SOLO')).length, 1);
    const solo = await productOf(t, 'SOLO');
    assert.deepEqual([solo.reservedQuantity, solo.availableQuantity], [1, 0]);
  });

  it('every decision on a due reservation expires it first, with no sweep: read, confirm, cancel, reserve again', async () => {
    await createProduct(t, { sku: 'LAZY', totalQuantity: 4 });
    const ids: Record<string, string> = {};
    for (const user of ['reader', 'confirmer', 'canceller', 'again']) ids[user] = (await reserve(t, user, 'LAZY')).body.data.reservationId;
    t.clock.advance(TTL_MS);

    assert.equal((await get(t, `/reservation/${ids.reader}`)).body.data.status, 'EXPIRED');
    const confirmed = await post(t, '/checkout/confirm', { userId: 'confirmer', reservationId: ids.confirmer });
    assert.deepEqual([confirmed.status, confirmed.body.code], [400, 'RESERVATION_EXPIRED']);
    const cancelled = await post(t, '/inventory/reserve/cancel', { userId: 'canceller', reservationId: ids.canceller });
    assert.deepEqual([cancelled.status, cancelled.body.code], [400, 'RESERVATION_EXPIRED']);
    const renewed = await reserve(t, 'again', 'LAZY');
    assert.equal(renewed.status, 201);
    assert.notEqual(renewed.body.data.reservationId, ids.again);
    assert.equal(renewed.body.data.isIdempotent, false);

    assert.equal((await expireRows('LAZY')).length, 4);
    assert.equal((await productOf(t, 'LAZY')).reservedQuantity, 1);
  });

  it('a due hold on the second line of a multi-line reserve is released for the buyer', async () => {
    await createProduct(t, { sku: 'P1', totalQuantity: 5 });
    await createProduct(t, { sku: 'P2', totalQuantity: 1 });
    await reserve(t, 'holder', 'P2');
    t.clock.advance(TTL_MS + 1);
    const res = await post(t, '/inventory/reserve', { userId: 'buyer', items: [{ sku: 'P1', quantity: 1 }, { sku: 'P2', quantity: 1 }] });
    assert.equal(res.status, 201);
    assert.equal((await productOf(t, 'P1')).reservedQuantity, 1);
    assert.equal((await productOf(t, 'P2')).reservedQuantity, 1);
  });

  it('a reservation is not expired a moment before its expiresAt', async () => {
    await createProduct(t, { sku: 'EDGE', totalQuantity: 1 });
    const r = (await reserve(t, 'u', 'EDGE')).body.data;
    t.clock.advance(TTL_MS - 1);
    assert.equal((await reserve(t, 'v', 'EDGE')).status, 400);
    assert.equal((await get(t, `/reservation/${r.reservationId}`)).body.data.status, 'RESERVED');
    await t.sweeper.runOnce();
    assert.equal((await productOf(t, 'EDGE')).reservedQuantity, 1);
  });

  it('the sweeper returns the units of every due reservation in batches of at most 500', async () => {
    await createProduct(t, { sku: 'BULK', totalQuantity: 2000 });
    const count = 2 * SWEEP_BATCH_SIZE + 3;
    // In waves, so a loaded machine's pool waits stay short: this test is about the sweeper.
    for (let from = 0; from < count; from += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - from) }, (_, i) =>
          t.reservations.reserve({ userId: `u${from + i}`, lines: [{ sku: 'BULK', quantity: 1 }] }),
        ),
      );
    }
    const expiredPerTransaction: number[] = [];
    let current = 0;
    t.events.on('reservation.expired', () => current++);
    const expireDue = t.reservations.expireDue.bind(t.reservations);
    t.reservations.expireDue = async (batch) => {
      current = 0;
      const n = await expireDue(batch);
      expiredPerTransaction.push(current);
      return n;
    };
    t.clock.advance(TTL_MS);
    const result = await t.sweeper.runOnce();
    assert.equal(result.expired, count);
    assert.deepEqual(expiredPerTransaction, [500, 500, 3]);
    assert.equal((await productOf(t, 'BULK')).reservedQuantity, 0);
  });

  it('each reservation expires exactly once, however many paths race for it, and every racer sees it expired', async () => {
    await createProduct(t, { sku: 'RACE', totalQuantity: 50 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await reserve(t, `r${i}`, 'RACE')).body.data.reservationId);
    t.clock.advance(TTL_MS);
    // Open the pool's connections first (PostgreSQL), so the racers' transactions really overlap.
    await Promise.all(ids.map((id) => get(t, `/reservation/${id}x`)));
    const [, reads, confirms, , newcomer] = await Promise.all([
      t.sweeper.runOnce(),
      Promise.all(ids.map((id) => get(t, `/reservation/${id}`))),
      Promise.all(ids.map((id, i) => post(t, '/checkout/confirm', { reservationId: id, userId: `r${i}` }))),
      t.sweeper.runOnce(),
      reserve(t, 'newcomer', 'RACE', 50),
    ]);
    assert.deepEqual(
      reads.map((r) => [r.status, r.body.data?.status]),
      ids.map(() => [200, 'EXPIRED']),
    );
    assert.deepEqual(
      confirms.map((r) => [r.status, r.body.code]),
      ids.map(() => [400, 'RESERVATION_EXPIRED']),
    );
    assert.equal(newcomer.status, 201);
    const rows = await expireRows('RACE');
    assert.equal(rows.length, 20);
    assert.equal(new Set(rows.map((m: { refId: string }) => m.refId)).size, 20);
    assert.equal((await productOf(t, 'RACE')).reservedQuantity, 50);
  });

  it('the sweeper runs on its own every CLEANUP_INTERVAL once started', { timeout: 10_000 }, async () => {
    const fast = await startTestApp({ env: { CLEANUP_INTERVAL: '10' } });
    try {
      await createProduct(fast, { sku: 'AUTO', totalQuantity: 1 });
      await reserve(fast, 'u', 'AUTO');
      fast.clock.advance(TTL_MS);
      // The sweeper's timer is unref'd (it must never keep a process alive); this one holds the
      // loop open, and turns a sweeper that never runs into a failure rather than a hang.
      const expired = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no reservation.expired within 5 s')), 5_000);
        fast.events.on('reservation.expired', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      fast.sweeper.start();
      await expired;
      assert.equal((await productOf(fast, 'AUTO')).reservedQuantity, 0);
    } finally {
      await fast.close();
    }
  });
});
