import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, get, post, productOf, reserve, startTestApp, TTL_MS, type TestApp } from '../helpers/test-app.js';

describe('checkout and order routes', () => {
  let t: TestApp;
  let reservationId: string;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'TV', totalQuantity: 4, price: 499.99 });
    await createProduct(t, { sku: 'CABLE', totalQuantity: 10, price: 9.99 });
    reservationId = (await post(t, '/inventory/reserve', { userId: 'u', items: [{ sku: 'TV', quantity: 2 }, { sku: 'CABLE', quantity: 1 }] })).body.data
      .reservationId;
  });
  afterEach(() => t.close());

  const confirm = (userId = 'u', id = reservationId) => post(t, '/checkout/confirm', { reservationId: id, userId });

  it('confirming again after the order was cancelled is a 400 INVALID_STATE naming the order and its status', async () => {
    const orderId = (await confirm()).body.data.orderId;
    assert.equal((await post(t, '/checkout/cancel', { orderId, userId: 'u' })).status, 200);
    const again = await confirm();
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, {
      success: false,
      statusCode: 400,
      error: `Order ${orderId} was cancelled; it cannot be confirmed again`,
      code: 'INVALID_STATE',
      details: { reservationId, orderId, status: 'CANCELLED' },
    });
    const tv = await productOf(t, 'TV');
    assert.deepEqual([tv.totalQuantity, tv.reservedQuantity, tv.soldQuantity], [4, 0, 0], 'the refusal moved nothing');
  });

  it('confirm turns the reservation into an order: 201, units move from reserved to sold', async () => {
    const res = await confirm();
    assert.equal(res.status, 201);
    const order = res.body.data;
    assert.ok(order.orderId);
    assert.equal(order.reservationId, reservationId);
    assert.equal(order.userId, 'u');
    assert.equal(order.status, 'CONFIRMED');
    assert.equal(order.paymentStatus, 'PENDING');
    assert.equal(order.isIdempotent, false);
    assert.equal(order.totalPrice, 1009.97);
    assert.deepEqual(order.items, [
      { sku: 'CABLE', quantity: 1, unitPrice: 9.99 },
      { sku: 'TV', quantity: 2, unitPrice: 499.99 },
    ]);
    const tv = await productOf(t, 'TV');
    assert.deepEqual([tv.totalQuantity, tv.reservedQuantity, tv.soldQuantity, tv.availableQuantity], [2, 0, 2, 2]);
    assert.equal((await get(t, `/reservation/${reservationId}`)).body.data.status, 'CONFIRMED');
    const read = await get(t, `/order/${order.orderId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.data.orderId, order.orderId);
  });

  it('a one-line order shows sku and quantity at the top', async () => {
    const r = (await reserve(t, 'single', 'TV', 1)).body.data;
    const order = (await confirm('single', r.reservationId)).body.data;
    assert.equal(order.sku, 'TV');
    assert.equal(order.quantity, 1);
  });

  it('a repeated confirm returns the same order with isIdempotent: true', async () => {
    const first = (await confirm()).body.data;
    const again = await confirm();
    assert.equal(again.status, 200);
    assert.equal(again.body.data.orderId, first.orderId);
    assert.equal(again.body.data.isIdempotent, true);
    assert.equal((await productOf(t, 'TV')).soldQuantity, 2);
  });

  it('twenty concurrent confirms of one reservation produce exactly one order', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => confirm()));
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    assert.equal(results.filter((r) => r.status === 200).length, 19);
    assert.equal(new Set(results.map((r) => r.body.data.orderId)).size, 1);
    assert.equal((await productOf(t, 'TV')).soldQuantity, 2);
  });

  it('confirm of an expired reservation is 400 RESERVATION_EXPIRED, and its units are back', async () => {
    t.clock.advance(TTL_MS);
    const res = await confirm();
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'RESERVATION_EXPIRED');
    assert.equal(res.body.error, 'Cannot confirm expired reservation');
    assert.equal((await productOf(t, 'TV')).reservedQuantity, 0);
    assert.equal((await get(t, `/reservation/${reservationId}`)).body.data.status, 'EXPIRED');
  });

  it('confirm one millisecond before expiry still succeeds', async () => {
    t.clock.advance(TTL_MS - 1);
    assert.equal((await confirm()).status, 201);
  });

  it('confirm of a cancelled reservation is 400 INVALID_STATE; of someone else is 403; of nothing is 404', async () => {
    assert.equal((await confirm('mallory')).body.code, 'NOT_OWNER');
    assert.equal((await confirm('mallory')).status, 403);
    await post(t, '/inventory/reserve/cancel', { reservationId, userId: 'u' });
    const res = await confirm();
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_STATE');
    const missing = await confirm('u', 'no-such-reservation');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'RESERVATION_NOT_FOUND');
  });

  it('cancelling an order restocks it; a repeat answers 200 again', async () => {
    const order = (await confirm()).body.data;
    const stranger = await post(t, '/checkout/cancel', { orderId: order.orderId, userId: 'mallory' });
    assert.equal(stranger.status, 403);
    const res = await post(t, '/checkout/cancel', { orderId: order.orderId, userId: 'u' });
    assert.equal(res.status, 200);
    assert.equal(res.body.data.status, 'CANCELLED');
    const tv = await productOf(t, 'TV');
    assert.deepEqual([tv.totalQuantity, tv.soldQuantity, tv.reservedQuantity, tv.availableQuantity], [4, 0, 0, 4]);
    const again = await post(t, '/checkout/cancel', { orderId: order.orderId, userId: 'u' });
    assert.equal(again.status, 200);
    assert.equal((await productOf(t, 'TV')).totalQuantity, 4);
    assert.equal((await get(t, `/order/${order.orderId}`)).body.data.status, 'CANCELLED');
  });

  it('checkout cancel by reservationId releases an open reservation or cancels its order', async () => {
    const open = await post(t, '/checkout/cancel', { reservationId, userId: 'u' });
    assert.equal(open.status, 200);
    assert.equal(open.body.data.status, 'CANCELLED');
    assert.equal(open.body.data.reservationId, reservationId);
    assert.equal((await productOf(t, 'TV')).reservedQuantity, 0);

    const r = (await reserve(t, 'v', 'TV', 1)).body.data;
    const order = (await confirm('v', r.reservationId)).body.data;
    const res = await post(t, '/checkout/cancel', { reservationId: r.reservationId, userId: 'v' });
    assert.equal(res.status, 200);
    assert.equal(res.body.data.orderId, order.orderId);
    assert.equal(res.body.data.status, 'CANCELLED');
    assert.equal((await productOf(t, 'TV')).soldQuantity, 0);
  });

  it('checkout cancel needs exactly one of orderId and reservationId', async () => {
    for (const body of [{ userId: 'u' }, { userId: 'u', orderId: 'a', reservationId: 'b' }]) {
      const res = await post(t, '/checkout/cancel', body);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'VALIDATION_ERROR');
    }
    assert.equal((await post(t, '/checkout/cancel', { orderId: 'missing', userId: 'u' })).body.code, 'ORDER_NOT_FOUND');
  });

  it('payment SUCCESS completes the order, which can then not be cancelled', async () => {
    const order = (await confirm()).body.data;
    const paid = await post(t, `/order/${order.orderId}/payment`, { status: 'SUCCESS' });
    assert.equal(paid.status, 200);
    assert.equal(paid.body.data.status, 'COMPLETED');
    assert.equal(paid.body.data.paymentStatus, 'SUCCESS');
    assert.equal((await post(t, `/order/${order.orderId}/payment`, { status: 'SUCCESS' })).status, 200);
    const cancel = await post(t, '/checkout/cancel', { orderId: order.orderId, userId: 'u' });
    assert.deepEqual(
      [cancel.status, cancel.body.code, cancel.body.error, cancel.body.details],
      [400, 'INVALID_STATE', 'A completed order cannot be cancelled', { orderId: order.orderId, status: 'COMPLETED' }],
    );
    assert.equal((await post(t, `/order/${order.orderId}/payment`, { status: 'FAILED' })).body.code, 'INVALID_STATE');
    assert.equal((await productOf(t, 'TV')).soldQuantity, 2);
  });

  it('payment FAILED cancels the order and restocks', async () => {
    const order = (await confirm()).body.data;
    const failed = await post(t, `/order/${order.orderId}/payment`, { status: 'FAILED' });
    assert.equal(failed.status, 200);
    assert.equal(failed.body.data.status, 'CANCELLED');
    assert.equal(failed.body.data.paymentStatus, 'FAILED');
    assert.equal((await productOf(t, 'TV')).totalQuantity, 4);
    assert.equal((await post(t, `/order/${order.orderId}/payment`, { status: 'SUCCESS' })).body.code, 'INVALID_STATE');
    assert.equal((await post(t, `/order/${order.orderId}/payment`, { status: 'PENDING' })).status, 400);
    assert.equal((await post(t, '/order/nope/payment', { status: 'SUCCESS' })).status, 404);
  });

  it('a cancelled order no longer counts against maxPerUser', async () => {
    await createProduct(t, { sku: 'LIMITED', totalQuantity: 10, maxPerUser: 2 });
    const r = (await reserve(t, 'u', 'LIMITED', 2)).body.data;
    const order = (await confirm('u', r.reservationId)).body.data;
    assert.equal((await reserve(t, 'u', 'LIMITED', 1)).body.code, 'PURCHASE_LIMIT_EXCEEDED');
    await post(t, '/checkout/cancel', { orderId: order.orderId, userId: 'u' });
    assert.equal((await reserve(t, 'u', 'LIMITED', 2)).status, 201);
  });

  it('GET /order of an unknown id is 404 ORDER_NOT_FOUND', async () => {
    const res = await get(t, '/order/unknown');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ORDER_NOT_FOUND');
  });
});
