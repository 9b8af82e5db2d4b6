import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { get, startTestApp, TEST_STORE } from '../helpers/test-app.js';

describe('GET /healthz', () => {
  it('answers 200 with the server time and its uptime while the store answers', async () => {
    const t = await startTestApp();
    const res = await get(t, '/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, { status: 'ok', store: TEST_STORE, time: new Date(t.clock.now()).toISOString(), uptime: 0 });
    t.clock.advance(90_500);
    const later = await get(t, '/healthz');
    assert.equal(later.body.data.time, new Date(t.clock.now()).toISOString());
    assert.equal(later.body.data.uptime, 90.5);
    await t.close();
  });

  it('answers 503 with Retry-After when the store is gone, and other routes do too', async () => {
    const t = await startTestApp();
    await t.store.close();
    const res = await get(t, '/healthz');
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'SERVICE_UNAVAILABLE');
    assert.ok(Number(res.headers['retry-after']) >= 1);
    const read = await get(t, '/inventory');
    assert.equal(read.status, 503);
    assert.equal(read.body.code, 'SERVICE_UNAVAILABLE');
    await t.close();
  });
});
