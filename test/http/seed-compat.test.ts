import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, get, post, productOf, startTestApp, type TestApp } from '../helpers/test-app.js';

const json = { 'content-type': 'application/json' };

describe('clients written against the seed README', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'SEED001', totalQuantity: 5 });
  });
  afterEach(() => t.close());

  it('reserve without quantity holds one unit, and the same reserve again is the same reservation', async () => {
    const first = await post(t, '/inventory/reserve', { userId: 'alice', sku: 'SEED001' });
    assert.equal(first.status, 201);
    assert.equal(first.body.data.quantity, 1);
    assert.equal(first.body.data.isIdempotent, false);
    const again = await post(t, '/inventory/reserve', { userId: 'alice', sku: 'SEED001' });
    assert.equal(again.status, 200);
    assert.equal(again.body.data.isIdempotent, true);
    assert.equal(again.body.data.reservationId, first.body.data.reservationId);
    assert.equal((await productOf(t, 'SEED001')).reservedQuantity, 1);
  });

  it('a repeated confirm answers 200 with the same order and isIdempotent true', async () => {
    const { reservationId } = (await post(t, '/inventory/reserve', { userId: 'alice', sku: 'SEED001' })).body.data;
    const first = await post(t, '/checkout/confirm', { userId: 'alice', reservationId });
    const again = await post(t, '/checkout/confirm', { userId: 'alice', reservationId });
    assert.deepEqual([first.status, again.status], [201, 200]);
    assert.equal(again.body.data.orderId, first.body.data.orderId);
    assert.deepEqual([first.body.data.isIdempotent, again.body.data.isIdempotent], [false, true]);
  });

  for (const [where, send] of [
    ['the X-Idempotency-Key header', (body: object) => ({ body, headers: { 'x-idempotency-key': 'k-123' } })],
    ['the idempotencyKey body field', (body: object) => ({ body: { ...body, idempotencyKey: 'k-123' }, headers: {} })],
  ] as const) {
    it(`takes the key from ${where}, with the Idempotency-Key semantics`, async () => {
      const request = send({ userId: 'bob', sku: 'SEED001', quantity: 2 });
      const first = await post(t, '/inventory/reserve', request.body, request.headers);
      const retry = await post(t, '/inventory/reserve', request.body, request.headers);
      assert.equal(first.status, 201);
      assert.equal(retry.status, 201);
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.equal(retry.raw, first.raw);
      // The same key under the usual header is the same request: the key is not part of it.
      const viaHeader = await post(t, '/inventory/reserve', { userId: 'bob', sku: 'SEED001', quantity: 2 }, { 'idempotency-key': 'k-123' });
      assert.equal(viaHeader.raw, first.raw);
      assert.equal((await productOf(t, 'SEED001')).reservedQuantity, 2);
    });
  }

  it('refuses two different keys in one request, saying so, and does nothing', async () => {
    const res = await post(t, '/inventory/reserve', { userId: 'bob', sku: 'SEED001', idempotencyKey: 'a' }, { 'idempotency-key': 'b' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_ERROR');
    assert.match(res.body.error, /different keys; send one key/);
    const headers = await post(t, '/inventory/reserve', { userId: 'bob', sku: 'SEED001' }, { 'idempotency-key': 'a', 'x-idempotency-key': 'b' });
    assert.equal(headers.status, 400);
    const same = await post(t, '/inventory/reserve', { userId: 'bob', sku: 'SEED001', idempotencyKey: 'a' }, { 'idempotency-key': 'a' });
    assert.equal(same.status, 201);
    assert.equal((await productOf(t, 'SEED001')).reservedQuantity, 1);
  });

  it('a repeated cancel of a reservation or an order answers 200 with isIdempotent true', async () => {
    const held = (await post(t, '/inventory/reserve', { userId: 'carol', sku: 'SEED001' })).body.data;
    const body = { userId: 'carol', reservationId: held.reservationId };
    const cancels = [await post(t, '/inventory/reserve/cancel', body), await post(t, '/inventory/reserve/cancel', body)];
    assert.deepEqual(cancels.map((r) => [r.status, r.body.data.isIdempotent, r.body.message]), [
      [200, false, 'Reservation cancelled'],
      [200, true, 'Reservation already cancelled'],
    ]);
    const viaCheckout = await post(t, '/checkout/cancel', body);
    assert.deepEqual([viaCheckout.status, viaCheckout.body.data.isIdempotent], [200, true]);

    const bought = (await post(t, '/inventory/reserve', { userId: 'carol', sku: 'SEED001' })).body.data;
    const order = (await post(t, '/checkout/confirm', { userId: 'carol', reservationId: bought.reservationId })).body.data;
    const orderCancels = [
      await post(t, '/checkout/cancel', { userId: 'carol', orderId: order.orderId }),
      await post(t, '/checkout/cancel', { userId: 'carol', orderId: order.orderId }),
    ];
    assert.deepEqual(orderCancels.map((r) => [r.status, r.body.data.isIdempotent, r.body.message]), [
      [200, false, 'Order cancelled'],
      [200, true, 'Order already cancelled'],
    ]);
    const product = await productOf(t, 'SEED001');
    assert.deepEqual([product.totalQuantity, product.reservedQuantity, product.soldQuantity], [5, 0, 0]);
  });

  for (const field of ['availableQuantity', 'reservedQuantity', 'soldQuantity']) {
    it(`a create carrying ${field} is refused, saying it is derived from totalQuantity`, async () => {
      const res = await post(t, '/inventory', { sku: 'NEW001', productName: 'New', price: 1, totalQuantity: 5, [field]: 5 });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'VALIDATION_ERROR');
      assert.equal(res.body.error, `${field} is derived from totalQuantity and the reservations and orders; send totalQuantity only`);
      assert.equal((await get(t, '/inventory/NEW001')).status, 404);
    });
  }

  it('a __proto__ or constructor.prototype key gets a message naming it', async () => {
    const send = (payload: string) => t.app.inject({ method: 'POST', url: '/inventory/reserve', headers: json, payload });
    const proto = await send('{"userId":"u","sku":"SEED001","__proto__":{"admin":true}}');
    assert.equal(proto.statusCode, 400);
    assert.match(JSON.parse(proto.body).error, /^the JSON body has a "__proto__" key/);
    const ctor = await send('{"userId":"u","sku":"SEED001","constructor":{"prototype":{}}}');
    assert.equal(ctor.statusCode, 400);
    assert.match(JSON.parse(ctor.body).error, /^the JSON body has a "constructor" key/);
    const invalid = await send('{"userId":');
    assert.equal(JSON.parse(invalid.body).code, 'INVALID_JSON');
    assert.equal((await productOf(t, 'SEED001')).reservedQuantity, 0);
  });
});
