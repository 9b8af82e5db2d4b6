import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createProduct, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('response compression', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ seed: true });
  });
  afterEach(() => t.close());

  it('a product list over 1 KiB is gzipped for a client that accepts it, and reads the same', async () => {
    const plain = await t.app.inject({ method: 'GET', url: '/inventory' });
    const zipped = await t.app.inject({ method: 'GET', url: '/inventory', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(zipped.statusCode, 200);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(plain.rawPayload.length > 1024, `the list is ${plain.rawPayload.length} bytes`);
    assert.ok(zipped.rawPayload.length < plain.rawPayload.length / 2, `${zipped.rawPayload.length} compressed bytes for ${plain.rawPayload.length}`);
    assert.deepEqual(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8')), JSON.parse(plain.payload));
  });

  it('the API description is compressed too; a small product answer and a reserve are sent as they are', async () => {
    const doc = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(doc.headers['content-encoding'], 'gzip');
    await createProduct(t, { sku: 'SMALL', totalQuantity: 5 });
    const one = await t.app.inject({ method: 'GET', url: '/inventory/SMALL', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(one.headers['content-encoding'], undefined);
    const reserve = await t.app.inject({
      method: 'POST',
      url: '/inventory/reserve',
      headers: { 'accept-encoding': 'gzip, br', 'content-type': 'application/json' },
      payload: { userId: 'zip', sku: 'SMALL', quantity: 1 },
    });
    assert.equal(reserve.statusCode, 201);
    assert.equal(reserve.headers['content-encoding'], undefined);
  });

  it('a gzipped request body is refused, never inflated', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/inventory/reserve',
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      payload: Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
    });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.payload}`);
  });
});
