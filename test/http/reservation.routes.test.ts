import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, get, post, productOf, reserve, startTestApp, TTL_MS, type TestApp } from '../helpers/test-app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('reservation routes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'HOT', totalQuantity: 5, price: 19.99 });
    await createProduct(t, { sku: 'COLD', totalQuantity: 2, price: 5 });
  });
  afterEach(() => t.close());

  it('reserves one line: 201 with the seed-compatible shape', async () => {
    const res = await reserve(t, 'user-1', 'hot', 2);
    assert.equal(res.status, 201);
    const r = res.body.data;
    assert.match(r.reservationId, UUID);
    assert.equal(r.userId, 'user-1');
    assert.equal(r.status, 'RESERVED');
    assert.equal(r.sku, 'HOT');
    assert.equal(r.quantity, 2);
    assert.deepEqual(r.items, [{ sku: 'HOT', quantity: 2, unitPrice: 19.99 }]);
    assert.equal(r.totalPrice, 39.98);
    assert.equal(r.expiresIn, TTL_MS);
    assert.equal(Date.parse(r.expiresAt), t.clock.now() + TTL_MS);
    assert.equal(r.isIdempotent, false);
    assert.ok(r.createdAt && r.updatedAt);
    const hot = await productOf(t, 'HOT');
    assert.deepEqual([hot.availableQuantity, hot.reservedQuantity, hot.totalQuantity], [3, 2, 5]);
  });

  it('reserves several lines at once, summing repeated skus', async () => {
    const res = await post(t, '/inventory/reserve', {
      userId: 'u',
      items: [
        { sku: 'hot', quantity: 1 },
        { sku: 'COLD', quantity: 2 },
        { sku: 'HOT', quantity: 2 },
      ],
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.data.items, [
      { sku: 'COLD', quantity: 2, unitPrice: 5 },
      { sku: 'HOT', quantity: 3, unitPrice: 19.99 },
    ]);
    assert.equal(res.body.data.sku, undefined);
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 3);
    assert.equal((await productOf(t, 'COLD')).reservedQuantity, 2);
  });

  it('holds all lines or none: one short line leaves every sku untouched', async () => {
    const res = await post(t, '/inventory/reserve', {
      userId: 'u',
      items: [
        { sku: 'HOT', quantity: 1 },
        { sku: 'COLD', quantity: 3 },
      ],
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INSUFFICIENT_INVENTORY');
    assert.equal(res.body.error, 'Insufficient inventory available');
    assert.deepEqual(res.body.details, { sku: 'COLD', requested: 3, available: 2 });
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 0);
    assert.equal((await productOf(t, 'COLD')).reservedQuantity, 0);
  });

  it('answers 404 PRODUCT_NOT_FOUND for an unknown sku and holds nothing', async () => {
    const res = await post(t, '/inventory/reserve', { userId: 'u', items: [{ sku: 'HOT', quantity: 1 }, { sku: 'GHOST', quantity: 1 }] });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.body.details, { sku: 'GHOST' });
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 0);
  });

  it('validates types strictly and says which field is wrong', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ userId: 'u', sku: 'HOT', quantity: '1' }, 'quantity'],
      [{ userId: 'u', sku: 'HOT', quantity: 0 }, 'quantity'],
      [{ userId: 'u', sku: 'HOT', quantity: 10_001 }, 'quantity'],
      [{ userId: 'u', sku: 'HOT', quantity: 1.5 }, 'quantity'],
      [{ userId: '', sku: 'HOT', quantity: 1 }, 'userId'],
      [{ userId: 'x'.repeat(129), sku: 'HOT', quantity: 1 }, 'userId'],
      [{ userId: 'nul\u0000', sku: 'HOT', quantity: 1 }, 'userId'],
      [{ userId: 7, sku: 'HOT', quantity: 1 }, 'userId'],
      [{ sku: 'HOT', quantity: 1 }, 'userId'],
      [{ userId: 'u', quantity: 1 }, 'sku'],
      [{ userId: 'u', items: [] }, 'items'],
      [{ userId: 'u', items: Array.from({ length: 51 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })) }, 'items'],
      [{ userId: 'u', sku: 'HOT', quantity: 1, items: [{ sku: 'HOT', quantity: 1 }] }, 'items'],
      [{ userId: 'u', items: [{ sku: 'HOT', quantity: 6000 }, { sku: 'hot', quantity: 6000 }] }, 'quantity'],
      [{ userId: 'u', sku: 'bad sku!', quantity: 1 }, 'sku'],
    ];
    for (const [body, field] of cases) {
      const res = await post(t, '/inventory/reserve', body);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${res.raw}`);
      assert.equal(res.body.code, 'VALIDATION_ERROR');
      assert.ok(res.body.details.errors.some((e: { field: string }) => e.field.includes(field)), res.raw);
    }
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 0);
  });

  it('a repeated reserve of the same lines returns the live reservation, holding nothing more', async () => {
    const first = await reserve(t, 'u', 'HOT', 2);
    t.clock.advance(1000);
    const again = await reserve(t, 'u', 'hot', 2);
    assert.equal(again.status, 200);
    assert.equal(again.body.data.reservationId, first.body.data.reservationId);
    assert.equal(again.body.data.isIdempotent, true);
    assert.equal(again.body.data.expiresIn, TTL_MS - 1000);
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 2);
  });

  it('a different reserve on a sku the user already holds is a 409 naming the live reservation', async () => {
    const first = await reserve(t, 'u', 'HOT', 2);
    const other = await reserve(t, 'u', 'HOT', 3);
    assert.equal(other.status, 409);
    assert.equal(other.body.code, 'RESERVATION_CONFLICT');
    assert.equal(other.body.details.reservationId, first.body.data.reservationId);
    const multi = await post(t, '/inventory/reserve', { userId: 'u', items: [{ sku: 'HOT', quantity: 2 }, { sku: 'COLD', quantity: 1 }] });
    assert.equal(multi.status, 409);
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 2);
    assert.equal((await productOf(t, 'COLD')).reservedQuantity, 0);
    // Another user is not affected, nor is another sku for the same user.
    assert.equal((await reserve(t, 'v', 'HOT', 1)).status, 201);
    assert.equal((await reserve(t, 'u', 'COLD', 1)).status, 201);
  });

  it('after a reservation expires or is cancelled, the same reserve creates a new one', async () => {
    const first = await reserve(t, 'u', 'HOT', 1);
    t.clock.advance(TTL_MS);
    const second = await reserve(t, 'u', 'HOT', 1);
    assert.equal(second.status, 201);
    assert.notEqual(second.body.data.reservationId, first.body.data.reservationId);
    assert.equal((await get(t, `/reservation/${first.body.data.reservationId}`)).body.data.status, 'EXPIRED');
    await post(t, '/inventory/reserve/cancel', { reservationId: second.body.data.reservationId, userId: 'u' });
    const third = await reserve(t, 'u', 'HOT', 1);
    assert.equal(third.status, 201);
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 1);
  });

  it('maxPerUser counts live holds and confirmed orders, not cancelled ones', async () => {
    await createProduct(t, { sku: 'LIMITED', totalQuantity: 100, maxPerUser: 3 });
    const over = await reserve(t, 'u', 'LIMITED', 4);
    assert.equal(over.status, 400);
    assert.equal(over.body.code, 'PURCHASE_LIMIT_EXCEEDED');
    const r = await reserve(t, 'u', 'LIMITED', 2);
    await post(t, '/checkout/confirm', { reservationId: r.body.data.reservationId, userId: 'u' });
    const more = await reserve(t, 'u', 'LIMITED', 2);
    assert.equal(more.status, 400);
    assert.deepEqual(more.body.details, { sku: 'LIMITED', maxPerUser: 3, alreadyHeld: 2, requested: 2 });
    assert.equal((await reserve(t, 'u', 'LIMITED', 1)).status, 201);
    assert.equal((await reserve(t, 'someone-else', 'LIMITED', 3)).status, 201);
  });

  it('GET shows a reservation in its current status, EXPIRED once due, 404 when unknown', async () => {
    const r = (await reserve(t, 'u', 'HOT', 2)).body.data;
    t.clock.advance(60_000);
    const live = await get(t, `/reservation/${r.reservationId}`);
    assert.equal(live.status, 200);
    assert.equal(live.body.data.status, 'RESERVED');
    assert.equal(live.body.data.expiresIn, TTL_MS - 60_000);
    t.clock.advance(TTL_MS);
    const expired = await get(t, `/reservation/${r.reservationId}`);
    assert.equal(expired.status, 200);
    assert.equal(expired.body.data.status, 'EXPIRED');
    assert.equal(expired.body.data.expiresIn, 0);
    assert.equal(expired.body.message, 'Reservation has expired');
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 0);
    const unknown = await get(t, '/reservation/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'RESERVATION_NOT_FOUND');
    assert.equal(unknown.body.error, 'Reservation not found');
  });

  it('cancel releases the units; a repeat answers 200 again; others may not cancel it', async () => {
    const r = (await reserve(t, 'u', 'HOT', 2)).body.data;
    const stranger = await post(t, '/inventory/reserve/cancel', { reservationId: r.reservationId, userId: 'mallory' });
    assert.equal(stranger.status, 403);
    assert.equal(stranger.body.code, 'NOT_OWNER');
    const cancelled = await post(t, '/inventory/reserve/cancel', { reservationId: r.reservationId, userId: 'u' });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.data.status, 'CANCELLED');
    assert.equal((await productOf(t, 'HOT')).reservedQuantity, 0);
    const again = await post(t, '/inventory/reserve/cancel', { reservationId: r.reservationId, userId: 'u' });
    assert.equal(again.status, 200);
    assert.equal(again.body.data.status, 'CANCELLED');
    assert.equal((await productOf(t, 'HOT')).availableQuantity, 5);
  });

  it('cancel of a confirmed reservation is 400 INVALID_STATE; of an expired one 400 RESERVATION_EXPIRED', async () => {
    const r = (await reserve(t, 'u', 'HOT', 1)).body.data;
    await post(t, '/checkout/confirm', { reservationId: r.reservationId, userId: 'u' });
    const res = await post(t, '/inventory/reserve/cancel', { reservationId: r.reservationId, userId: 'u' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_STATE');
    const e = (await reserve(t, 'w', 'HOT', 1)).body.data;
    t.clock.advance(TTL_MS + 1);
    const expired = await post(t, '/inventory/reserve/cancel', { reservationId: e.reservationId, userId: 'w' });
    assert.equal(expired.status, 400);
    assert.equal(expired.body.code, 'RESERVATION_EXPIRED');
    assert.equal((await post(t, '/inventory/reserve/cancel', { reservationId: 'nope', userId: 'u' })).status, 404);
  });
});
