import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createProduct, get, productOf, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('bad input always gets a 4xx in the envelope', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'SAFE', totalQuantity: 5 });
  });
  after(() => t.close());

  const send = async (payload: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, url = '/inventory/reserve') => {
    const res = await t.app.inject({ method: 'POST', url, payload, headers });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  const assertEnvelope = (res: { status: number; body: Record<string, unknown> }, status: number, code?: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.success, false);
    assert.equal(res.body.statusCode, status);
    assert.equal(typeof res.body.error, 'string');
    if (code) assert.equal(res.body.code, code);
  };

  it('malformed JSON is a 400', async () => {
    assertEnvelope(await send('{"userId": "u", "sku": '), 400, 'INVALID_JSON');
  });

  it('an empty JSON body is a 400', async () => {
    assertEnvelope(await send(''), 400, 'INVALID_JSON');
  });

  it("a body over the route's limit is a 413", async () => {
    const big = JSON.stringify({ userId: 'u', sku: 'SAFE', quantity: 1, pad: 'x'.repeat(32 * 1024) });
    assertEnvelope(await send(big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a body that is not JSON is a 415', async () => {
    assertEnvelope(await send('userId=u&sku=SAFE&quantity=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
    assertEnvelope(await send('{"userId":"u","sku":"SAFE","quantity":1}', { 'content-type': 'text/plain' }), 415);
  });

  it('prototype-poisoning keys are refused', async () => {
    assertEnvelope(await send('{"userId":"u","sku":"SAFE","quantity":1,"__proto__":{"admin":true}}'), 400);
    assertEnvelope(await send('{"userId":"u","sku":"SAFE","quantity":1,"constructor":{"prototype":{"x":1}}}'), 400);
  });

  it('wrong JSON shapes are a 400 VALIDATION_ERROR', async () => {
    for (const body of ['[]', '"text"', '42', 'null', '{"userId":"u","sku":"SAFE","quantity":1e400}', '{"userId":"u","sku":["SAFE"],"quantity":1}']) {
      assertEnvelope(await send(body), 400);
    }
  });

  it('an unknown route is a 404 in the envelope', async () => {
    const res = await get(t, '/nowhere');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'ROUTE_NOT_FOUND');
  });

  it('none of it had an effect', async () => {
    const safe = await productOf(t, 'SAFE');
    assert.equal(safe.reservedQuantity, 0);
    const ledger = await get(t, '/inventory/SAFE/movements');
    assert.deepEqual(ledger.body.data.map((m: { reason: string }) => m.reason), ['RECEIVE']);
  });
});
