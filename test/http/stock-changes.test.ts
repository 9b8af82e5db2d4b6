import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ReconciliationService } from '../../src/services/reconciliation.service.js';
import { createProduct, get, post, productOf, reserve, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('restocking and adjusting stock', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(() => t.close());

  const movements = async (sku: string) => (await get(t, `/inventory/${sku}/movements?limit=1000`)).body.data as Array<{ reason: string; deltaOnHand: number }>;
  const drifts = async () => (await new ReconciliationService({ store: t.store, clock: t.clock, events: t.events }).check()).drifts;

  it('a restock puts units on sale at once, with a RECEIVE row in the ledger', async () => {
    await createProduct(t, { sku: 'DROP', totalQuantity: 1 });
    assert.equal((await reserve(t, 'u1', 'DROP')).status, 201);
    assert.equal((await reserve(t, 'u2', 'DROP')).status, 400, 'sold out, and now remembered as sold out');
    const restocked = await post(t, '/inventory/drop/restock', { quantity: 2 });
    assert.equal(restocked.status, 200);
    assert.deepEqual(
      [restocked.body.data.totalQuantity, restocked.body.data.availableQuantity, restocked.body.data.reservedQuantity],
      [3, 2, 1],
    );
    assert.equal((await reserve(t, 'u2', 'DROP')).status, 201);
    assert.equal((await reserve(t, 'u3', 'DROP')).status, 201);
    assert.equal((await reserve(t, 'u4', 'DROP')).status, 400);
    assert.deepEqual((await movements('DROP')).filter((m) => m.reason === 'RECEIVE').map((m) => m.deltaOnHand).sort(), [1, 2]);
    assert.deepEqual(await drifts(), []);
  });

  it('an adjustment removes only unreserved units; a refused one changes nothing', async () => {
    await createProduct(t, { sku: 'COUNT', totalQuantity: 5 });
    await reserve(t, 'holder', 'COUNT', 3);
    const tooMany = await post(t, '/inventory/COUNT/adjust', { delta: -3 });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(tooMany.body.details, { sku: 'COUNT', requested: 3, available: 2 });
    assert.equal((await productOf(t, 'COUNT')).totalQuantity, 5);

    const removed = await post(t, '/inventory/COUNT/adjust', { delta: -2 });
    assert.equal(removed.status, 200);
    assert.deepEqual([removed.body.data.totalQuantity, removed.body.data.availableQuantity], [3, 0]);
    const added = await post(t, '/inventory/COUNT/adjust', { delta: 4 });
    assert.deepEqual([added.body.data.totalQuantity, added.body.data.availableQuantity], [7, 4]);
    assert.deepEqual((await movements('COUNT')).filter((m) => m.reason === 'ADJUST').map((m) => m.deltaOnHand), [4, -2]);
    assert.deepEqual(await drifts(), []);
  });

  it('reserves and removals racing for the same units never take on hand below reserved', async () => {
    await createProduct(t, { sku: 'RACE', totalQuantity: 10 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? reserve(t, `r${i}`, 'RACE') : post(t, '/inventory/RACE/adjust', { delta: -1 }))),
    );
    const reserved = answers.filter((a, i) => i % 2 === 0 && a.status === 201).length;
    const removed = answers.filter((a, i) => i % 2 === 1 && a.status === 200).length;
    assert.ok(answers.every((a) => a.status === 200 || a.status === 201 || a.status === 400), 'only wins and refusals');
    assert.equal(reserved + removed, 10, 'every unit went exactly one way');
    const product = await productOf(t, 'RACE');
    assert.deepEqual([product.totalQuantity, product.reservedQuantity, product.availableQuantity], [10 - removed, reserved, 0]);
    assert.deepEqual(await drifts(), []);
  });

  it('bad changes are a 400 and an unknown sku a 404, with nothing written', async () => {
    await createProduct(t, { sku: 'EDGE', totalQuantity: 1 });
    for (const [url, body] of [
      ['/inventory/EDGE/restock', { quantity: 0 }],
      ['/inventory/EDGE/restock', { quantity: -1 }],
      ['/inventory/EDGE/restock', { quantity: '5' }],
      ['/inventory/EDGE/restock', { quantity: 1_000_000_000 }],
      ['/inventory/EDGE/adjust', { delta: 0 }],
      ['/inventory/EDGE/adjust', { delta: 1.5 }],
      ['/inventory/EDGE/adjust', { delta: -1, note: 'x' }],
    ] as const) {
      const res = await post(t, url, body);
      assert.equal(res.status, 400, `${url} ${JSON.stringify(body)}: ${res.raw}`);
    }
    assert.equal((await post(t, '/inventory/NOPE/restock', { quantity: 1 })).status, 404);
    assert.equal((await productOf(t, 'EDGE')).totalQuantity, 1);
    assert.equal((await movements('EDGE')).length, 1);
  });
});
