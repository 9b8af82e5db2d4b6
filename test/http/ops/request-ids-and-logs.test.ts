import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { createProduct, get, post, reserve, startTestApp, TTL_MS, type TestApp } from '../../helpers/test-app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A real pino logger at info whose JSON lines the test reads back. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('request ids and logs', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('honours a sane X-Request-Id, else makes one, and echoes it on every response', async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'RID', totalQuantity: 5 });
    const given = await get(t, '/inventory/RID', { 'x-request-id': 'trace-42/abc' });
    assert.equal(given.headers['x-request-id'], 'trace-42/abc');
    const none = await get(t, '/inventory/RID');
    assert.match(String(none.headers['x-request-id']), UUID);
    for (const bad of ['x'.repeat(129), 'has space', 'naïve', '']) {
      const res = await get(t, '/inventory/RID', { 'x-request-id': bad });
      assert.match(String(res.headers['x-request-id']), UUID, `replaced: ${JSON.stringify(bad)}`);
    }
    assert.equal((await get(t, '/inventory/RID', { 'x-request-id': 'x'.repeat(128) })).headers['x-request-id'], 'x'.repeat(128));
    // Errors too: unknown route, validation, a refusal, a malformed body.
    const errors = await Promise.all([
      get(t, '/nope', { 'x-request-id': 'e1' }),
      post(t, '/inventory/reserve', { userId: '' }, { 'x-request-id': 'e2' }),
      reserve(t, 'u', 'RID', 50, { 'x-request-id': 'e3' }),
      t.app.inject({ method: 'POST', url: '/inventory/reserve', payload: '{bad', headers: { 'content-type': 'application/json', 'x-request-id': 'e4' } }),
    ]);
    assert.deepEqual(
      errors.map((r) => ('statusCode' in r ? r.statusCode : r.status)),
      [404, 400, 400, 400],
    );
    assert.deepEqual(
      errors.map((r) => r.headers['x-request-id']),
      ['e1', 'e2', 'e3', 'e4'],
    );
  });

  it('logs one access line per request at info, with the request id and the reservation or order id', async () => {
    const { logger, lines } = capturedLogger();
    t = await startTestApp({ logger });
    await createProduct(t, { sku: 'LOG', totalQuantity: 1 });
    const held = await reserve(t, 'u1', 'LOG', 1, { 'x-request-id': 'reserve-1' });
    const refused = await reserve(t, 'u2', 'LOG', 1, { 'x-request-id': 'refused-1' });
    const order = await post(t, '/checkout/confirm', { reservationId: held.body.data.reservationId, userId: 'u1' }, { 'x-request-id': 'confirm-1' });
    assert.deepEqual([held.status, refused.status, order.status], [201, 400, 201]);
    for (let i = 0; i < 36; i++) await get(t, i % 2 === 0 ? '/inventory/LOG' : '/inventory/MISSING');

    const access = lines.filter((l) => l.msg === 'request');
    assert.equal(access.length, 40, 'one line for each of the 40 requests, 4xx included');
    assert.ok(access.every((l) => l.level === 30 && typeof l.reqId === 'string' && typeof l.ms === 'number'));
    const byId = (id: string) => access.find((l) => l.reqId === id);
    assert.deepEqual(
      { ...byId('reserve-1'), time: 0, pid: 0, hostname: '', ms: 0 },
      { level: 30, time: 0, pid: 0, hostname: '', reqId: 'reserve-1', method: 'POST', route: '/inventory/reserve', status: 201, ms: 0, reservationId: held.body.data.reservationId, msg: 'request' },
    );
    assert.equal(byId('refused-1')?.code, 'INSUFFICIENT_INVENTORY');
    assert.equal(byId('confirm-1')?.orderId, order.body.data.orderId);
    assert.equal(byId('confirm-1')?.reservationId, held.body.data.reservationId);
    assert.equal(access.filter((l) => l.route === '/inventory/:sku' && l.status === 404).length, 18);
    // The business event has its own line.
    const confirmed = lines.filter((l) => l.msg === 'order confirmed');
    assert.deepEqual(confirmed.map((l) => [l.level, l.orderId, l.reservationId]), [[30, order.body.data.orderId, held.body.data.reservationId]]);
  });

  it('ACCESS_LOG=off writes no access line', async () => {
    const { logger, lines } = capturedLogger();
    t = await startTestApp({ logger, env: { ACCESS_LOG: 'off' } });
    await get(t, '/inventory/NONE');
    await get(t, '/livez');
    assert.deepEqual(lines.filter((l) => l.msg === 'request'), []);
  });

  it('logs expiry by the sweeper and cancellations at info', async () => {
    const { logger, lines } = capturedLogger();
    t = await startTestApp({ logger });
    await createProduct(t, { sku: 'EVT', totalQuantity: 5 });
    const expiring = (await reserve(t, 'u1', 'EVT')).body.data.reservationId;
    const cancelled = (await reserve(t, 'u2', 'EVT')).body.data.reservationId;
    const confirmed = (await reserve(t, 'u3', 'EVT')).body.data.reservationId;
    assert.equal((await post(t, '/inventory/reserve/cancel', { reservationId: cancelled, userId: 'u2' })).status, 200);
    const order = (await post(t, '/checkout/confirm', { reservationId: confirmed, userId: 'u3' })).body.data.orderId;
    assert.equal((await post(t, '/checkout/cancel', { orderId: order, userId: 'u3' })).status, 200);
    t.clock.advance(TTL_MS + 1);
    assert.equal((await t.sweeper.runOnce()).expired, 1);

    const events = lines.filter((l) => l.level === 30 && l.msg !== 'request').map((l) => [l.msg, l.reservationId ?? null, l.orderId ?? null]);
    assert.deepEqual(events, [
      ['order confirmed', confirmed, order],
      ['order cancelled', confirmed, order],
      ['reservation expired', expiring, null],
    ]);
  });
});
