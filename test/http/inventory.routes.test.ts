import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createProduct, get, post, reserve, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('inventory routes', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ seed: true });
  });
  after(() => t.close());

  it('lists the demo catalog sorted by sku, with every counter', async () => {
    const res = await get(t, '/inventory');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    const skus = res.body.data.map((p: { sku: string }) => p.sku);
    assert.deepEqual(skus, [...skus].sort());
    assert.equal(skus.length, 8);
    assert.equal(res.body.meta.nextCursor, undefined);
    const camera = res.body.data.find((p: { sku: string }) => p.sku === 'CAMERA001');
    assert.deepEqual(
      { ...camera, createdAt: undefined, updatedAt: undefined },
      {
        sku: 'CAMERA001',
        productName: '4K Mirrorless Camera',
        price: 1599.99,
        totalQuantity: 3,
        availableQuantity: 3,
        reservedQuantity: 0,
        soldQuantity: 0,
        maxPerUser: null,
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
  });

  it('pages with an opaque cursor until no nextCursor remains', async () => {
    const seen: string[] = [];
    let url = '/inventory?limit=3';
    for (let pages = 0; pages < 10; pages++) {
      const res = await get(t, url);
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 3);
      seen.push(...res.body.data.map((p: { sku: string }) => p.sku));
      if (!res.body.meta.nextCursor) break;
      url = `/inventory?limit=3&cursor=${encodeURIComponent(res.body.meta.nextCursor)}`;
    }
    assert.equal(seen.length, 8);
    assert.equal(new Set(seen).size, 8);
  });

  it('refuses a limit outside 1..1000 and a forged cursor', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=%%%', 'cursor=bm90LWEtY3Vyc29y=']) {
      const res = await get(t, `/inventory?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.code, 'VALIDATION_ERROR', q);
    }
  });

  it('reads a product whatever the case of its sku', async () => {
    const res = await get(t, '/inventory/laptop001');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.sku, 'LAPTOP001');
  });

  it('answers 404 PRODUCT_NOT_FOUND for an unknown sku', async () => {
    const res = await get(t, '/inventory/NOPE404');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'PRODUCT_NOT_FOUND');
    assert.equal(res.body.error, 'Product not found');
  });

  it('creates a product with an upper-cased sku, and 409 when it exists', async () => {
    const res = await post(t, '/inventory', { sku: 'new-item_1', productName: 'New', totalQuantity: 4, price: 12.5, maxPerUser: 2 });
    assert.equal(res.status, 201);
    assert.equal(res.body.data.sku, 'NEW-ITEM_1');
    assert.equal(res.body.data.maxPerUser, 2);
    assert.equal(res.body.data.price, 12.5);
    const again = await post(t, '/inventory', { sku: 'NEW-ITEM_1', productName: 'New', totalQuantity: 1, price: 1 });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'PRODUCT_EXISTS');
    assert.equal((await get(t, '/inventory/NEW-ITEM_1')).body.data.totalQuantity, 4);
  });

  it('accepts quantity in place of totalQuantity', async () => {
    const res = await post(t, '/inventory', { sku: 'ALIAS1', productName: 'Alias', quantity: 7, price: 1 });
    assert.equal(res.status, 201);
    assert.equal(res.body.data.totalQuantity, 7);
  });

  it('refuses bad products with a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ sku: '-BAD', productName: 'x', totalQuantity: 1, price: 1 }, 'sku'],
      [{ sku: 'A'.repeat(65), productName: 'x', totalQuantity: 1, price: 1 }, 'sku'],
      [{ sku: 'HAS SPACE', productName: 'x', totalQuantity: 1, price: 1 }, 'sku'],
      [{ sku: 'OK1', productName: 'x', price: 1 }, 'totalQuantity'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: -1, price: 1 }, 'totalQuantity'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: 1.5, price: 1 }, 'totalQuantity'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: '3', price: 1 }, 'totalQuantity'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: 1, price: 1.234 }, 'price'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: 1, price: -1 }, 'price'],
      [{ sku: 'OK1', productName: '   ', totalQuantity: 1, price: 1 }, 'productName'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: 1, quantity: 2, price: 1 }, 'quantity'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: 1, price: 1, colour: 'red' }, 'colour'],
      [{ sku: 'OK1', productName: 'x', totalQuantity: 1, price: 1, maxPerUser: 0 }, 'maxPerUser'],
    ];
    for (const [body, field] of cases) {
      const res = await post(t, '/inventory', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'VALIDATION_ERROR');
      assert.ok(
        res.body.details.errors.some((e: { field: string }) => e.field.includes(field)),
        `${JSON.stringify(body)} -> ${res.raw}`,
      );
    }
    assert.equal((await get(t, '/inventory/OK1')).status, 404);
  });

  it('shows the ledger newest first, paged like the list', async () => {
    await createProduct(t, { sku: 'LEDGER1', totalQuantity: 10 });
    for (const user of ['a', 'b', 'c']) assert.equal((await reserve(t, user, 'LEDGER1', 2)).status, 201);
    const first = await get(t, '/inventory/ledger1/movements?limit=2');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.data.map((m: { reason: string }) => m.reason), ['RESERVE', 'RESERVE']);
    assert.ok(first.body.data[0].id > first.body.data[1].id);
    const rest = await get(t, `/inventory/LEDGER1/movements?limit=2&cursor=${first.body.meta.nextCursor}`);
    assert.deepEqual(rest.body.data.map((m: { reason: string }) => m.reason), ['RESERVE', 'RECEIVE']);
    assert.equal(rest.body.meta.nextCursor, undefined);
    assert.equal((await get(t, '/inventory/NOPE/movements')).status, 404);
  });
});
