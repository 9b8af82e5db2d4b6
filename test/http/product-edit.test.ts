import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, get, post, productOf, reserve, startTestApp, type TestApp } from '../helpers/test-app.js';

const patch = async (t: TestApp, sku: string, payload: object, headers: Record<string, string> = {}) => {
  const res = await t.app.inject({ method: 'PATCH', url: `/inventory/${sku}`, payload, headers });
  return { status: res.statusCode, body: JSON.parse(res.body), headers: res.headers, raw: res.body };
};

describe('PATCH /inventory/:sku', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'EDIT001', totalQuantity: 5, price: 10, productName: 'Old name' });
  });
  afterEach(() => t.close());

  it('changes name, price and maxPerUser, and leaves stock and the ledger alone', async () => {
    const ledger = (await get(t, '/inventory/EDIT001/movements')).body.data.length;
    t.clock.advance(1_000);
    const res = await patch(t, 'edit001', { productName: 'New name', price: 12.5, maxPerUser: 2 });
    assert.equal(res.status, 200);
    assert.equal(res.body.message, 'Product updated');
    const { productName, price, maxPerUser, totalQuantity, availableQuantity, updatedAt } = res.body.data;
    assert.deepEqual(
      { productName, price, maxPerUser, totalQuantity, availableQuantity, updatedAt },
      { productName: 'New name', price: 12.5, maxPerUser: 2, totalQuantity: 5, availableQuantity: 5, updatedAt: new Date(t.clock.now()).toISOString() },
    );
    assert.deepEqual(await productOf(t, 'EDIT001'), res.body.data);
    assert.equal((await get(t, '/inventory/EDIT001/movements')).body.data.length, ledger);
  });

  it('leaves out what is not sent, and the same edit again changes nothing', async () => {
    const first = await patch(t, 'EDIT001', { price: 11 });
    assert.deepEqual([first.body.data.productName, first.body.data.price, first.body.data.maxPerUser], ['Old name', 11, null]);
    t.clock.advance(5_000);
    const again = await patch(t, 'EDIT001', { price: 11 });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.data, first.body.data);
    const keyed = await patch(t, 'EDIT001', { price: 13 }, { 'idempotency-key': 'e-1' });
    const retried = await patch(t, 'EDIT001', { price: 13 }, { 'idempotency-key': 'e-1' });
    assert.equal(retried.headers['idempotent-replayed'], 'true');
    assert.equal(retried.raw, keyed.raw);
  });

  it('a live reservation keeps its price; a new limit refuses reserves beyond it; null lifts it', async () => {
    const held = (await reserve(t, 'ann', 'EDIT001', 2)).body.data;
    await patch(t, 'EDIT001', { price: 20, maxPerUser: 1 });
    assert.equal((await get(t, `/reservation/${held.reservationId}`)).body.data.totalPrice, 20);
    const over = await reserve(t, 'bea', 'EDIT001', 2);
    assert.deepEqual([over.status, over.body.code], [400, 'PURCHASE_LIMIT_EXCEEDED']);
    const ok = await reserve(t, 'bea', 'EDIT001', 1);
    assert.deepEqual([ok.status, ok.body.data.totalPrice], [201, 20]);
    await patch(t, 'EDIT001', { maxPerUser: null });
    assert.equal((await reserve(t, 'cid', 'EDIT001', 2)).status, 201);
  });

  it('refuses an unknown sku, an empty edit and bad values, changing nothing', async () => {
    assert.deepEqual([(await patch(t, 'NOPE001', { price: 1 })).body.code], ['PRODUCT_NOT_FOUND']);
    for (const body of [{}, { productName: '  ' }, { price: 1.234 }, { maxPerUser: 0 }, { totalQuantity: 9 }, { price: '1' }]) {
      const res = await patch(t, 'EDIT001', body);
      assert.deepEqual([res.status, res.body.code], [400, 'VALIDATION_ERROR'], JSON.stringify(body));
    }
    const product = await productOf(t, 'EDIT001');
    assert.deepEqual([product.productName, product.price, product.maxPerUser, product.totalQuantity], ['Old name', 10, null, 5]);
    assert.equal((await post(t, '/inventory/EDIT001/restock', { quantity: 1 })).status, 200);
  });
});
