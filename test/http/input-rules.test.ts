import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createProduct, get, post, productOf, reserve, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('input rules', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'SPEAKER001', totalQuantity: 100 });
  });
  after(() => t.close());

  it('a sku must be ASCII before it is upper-cased: look-alikes that fold into a real sku are a 400', async () => {
    for (const sku of ['ſpeaker001', '\u00a0SPEAKER001', 'SPEAKER001\u00a0', 'ＳPEAKER001', 'speaker001\u200b']) {
      const res = await reserve(t, 'shopper', sku);
      assert.equal(res.status, 400, JSON.stringify(sku));
      assert.equal(res.body.code, 'VALIDATION_ERROR');
      assert.equal(res.body.details.errors[0].field, 'sku');
    }
    const created = await post(t, '/inventory', { sku: 'ßß', productName: 'Folded', price: 1, totalQuantity: 1 });
    assert.equal(created.status, 400);
    assert.equal((await get(t, '/inventory/SSSS')).status, 404, 'ßß did not become SSSS');
    assert.equal((await get(t, `/inventory/${encodeURIComponent('ſpeaker001')}`)).status, 400);
    assert.equal((await productOf(t, 'SPEAKER001')).reservedQuantity, 0);
    // ASCII keeps working as before: case-insensitive, surrounding spaces trimmed.
    assert.equal((await reserve(t, 'ascii-shopper', ' speaker001 ')).status, 201);
  });

  const forbidden: Array<[string, string]> = [
    ['C1 control U+0085', '\u0085'],
    ['C1 control U+009F', '\u009f'],
    ['bidi override U+202E', '\u202e'],
    ['bidi embedding U+202A', '\u202a'],
    ['bidi isolate U+2066', '\u2066'],
    ['bidi isolate U+2069', '\u2069'],
    ['zero-width space U+200B', '\u200b'],
    ['zero-width joiner U+200D', '\u200d'],
    ['word joiner U+2060', '\u2060'],
    ['BOM U+FEFF', '\ufeff'],
    ['line separator U+2028', '\u2028'],
    ['paragraph separator U+2029', '\u2029'],
  ];

  it('refuses controls, bidi controls, zero-width characters, the BOM and U+2028/U+2029 in every id', async () => {
    for (const [name, char] of forbidden) {
      const inUserId = await reserve(t, `alice${char}`, 'SPEAKER001');
      assert.deepEqual([inUserId.status, inUserId.body.details?.errors?.[0]?.field], [400, 'userId'], `${name} in userId`);
      const inId = await post(t, '/checkout/confirm', { userId: 'alice', reservationId: `r${char}` });
      assert.deepEqual([inId.status, inId.body.details?.errors?.[0]?.field], [400, 'reservationId'], `${name} in reservationId`);
      const inPath = await get(t, `/reservation/${encodeURIComponent(`r${char}`)}`);
      assert.equal(inPath.status, 400, `${name} in a path id`);
    }
    assert.equal((await productOf(t, 'SPEAKER001')).reservedQuantity, 1, 'only the ASCII reserve above holds a unit');
  });

  it('accepts other printable Unicode in ids: accents, CJK, emoji, ligatures', async () => {
    for (const userId of ['José', '山田', '😀', 'ﬀ', 'a b']) {
      const res = await reserve(t, userId, 'SPEAKER001');
      assert.equal(res.status, 201, `${userId}: ${res.raw}`);
      assert.equal(res.body.data.userId, userId);
    }
  });

  it('refuses a query parameter a route does not know on /reservation/:id, /inventory/:sku and /order/:id', async () => {
    const held = (await reserve(t, 'query-shopper', 'SPEAKER001')).body.data.reservationId as string;
    for (const url of [`/reservation/${held}?verbose=1`, '/inventory/SPEAKER001?fields=all', '/order/any?x=1']) {
      const res = await get(t, url);
      assert.equal(res.status, 400, url);
      assert.equal(res.body.code, 'VALIDATION_ERROR', url);
    }
    assert.equal((await get(t, `/reservation/${held}`)).status, 200);
    assert.equal((await get(t, '/inventory/SPEAKER001')).status, 200);
  });

  it('a CORS preflight for a request with a query string is answered, not refused', async () => {
    const cors = await startTestApp({ env: { CORS_ORIGINS: 'https://shop.example.com' } });
    try {
      const res = await cors.app.inject({
        method: 'OPTIONS',
        url: '/inventory/SPEAKER001?fields=all',
        headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], 'https://shop.example.com');
    } finally {
      await cors.close();
    }
  });
});
