import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createProduct, productOf, startTestApp, TEST_STORE, type TestApp } from '../helpers/test-app.js';

// Over a real socket: many parallel HTTP requests, exact counts afterwards.
describe('concurrency over real HTTP', () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await startTestApp();
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  const postJson = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { code?: string } };
  };

  it('sixty buyers, three units: exactly three win and nothing is oversold', async () => {
    await createProduct(t, { sku: 'LAST3', totalQuantity: 3 });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => postJson('/inventory/reserve', { userId: `buyer-${i}`, sku: 'LAST3', quantity: 1 })),
    );
    assert.equal(results.filter((r) => r.status === 201).length, 3);
    const refused = results.filter((r) => r.status === 400);
    assert.equal(refused.length, 57);
    for (const r of refused) assert.equal(r.body.code, 'INSUFFICIENT_INVENTORY');
    const product = await productOf(t, 'LAST3');
    assert.equal(product.availableQuantity, 0);
    assert.equal(product.reservedQuantity, 3);
  });

  it('two buyers, one unit: exactly one wins', async () => {
    await createProduct(t, { sku: 'ONE', totalQuantity: 1 });
    const [a, b] = await Promise.all([
      postJson('/inventory/reserve', { userId: 'a', sku: 'ONE', quantity: 1 }),
      postJson('/inventory/reserve', { userId: 'b', sku: 'ONE', quantity: 1 }),
    ]);
    assert.deepEqual([a?.status, b?.status].sort(), [201, 400]);
  });

  it('multi-line reserves crossing the same skus in opposite orders never leave partial holds', async () => {
    await createProduct(t, { sku: 'CROSS-A', totalQuantity: 30 });
    await createProduct(t, { sku: 'CROSS-B', totalQuantity: 30 });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        postJson('/inventory/reserve', {
          userId: `x-${i}`,
          items: i % 2 === 0
            ? [{ sku: 'CROSS-A', quantity: 1 }, { sku: 'CROSS-B', quantity: 1 }]
            : [{ sku: 'cross-b', quantity: 1 }, { sku: 'cross-a', quantity: 1 }],
        }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 201).length, 30);
    assert.equal(results.filter((r) => r.status === 400).length, 70);
    assert.equal((await productOf(t, 'CROSS-A')).reservedQuantity, 30);
    assert.equal((await productOf(t, 'CROSS-B')).reservedQuantity, 30);
  });

  // SQLite serialises transactions in arrival order; PostgreSQL's pool makes no such promise.
  it('arrivals are served first come, first served', { skip: TEST_STORE === 'postgres' && 'strict FIFO is the SQLite store\'s promise' }, async () => {
    await createProduct(t, { sku: 'FIFO', totalQuantity: 5 });
    // Issued one after another on the event loop without awaiting: the first five must win.
    const pending = Array.from({ length: 20 }, (_, i) =>
      t.app.inject({ method: 'POST', url: '/inventory/reserve', payload: { userId: `q-${i}`, sku: 'FIFO', quantity: 1 } }),
    );
    const statuses = (await Promise.all(pending)).map((r) => r.statusCode);
    assert.deepEqual(statuses, [...Array(5).fill(201), ...Array(15).fill(400)]);
  });
});
