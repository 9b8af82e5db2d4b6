import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createProduct, get, post, reserve, startTestApp, TTL_MS, type TestApp } from '../../helpers/test-app.js';

/** The value of one sample of the Prometheus text, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter((s) => s !== '');
    if (wanted.length === have.length && wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

async function scrape(t: TestApp, headers: Record<string, string> = {}): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return res.body;
}

describe('metrics', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('counts reserve outcomes, confirms, cancels, expirations and replays exactly', async () => {
    t = await startTestApp({ env: { METRICS_SKU_LIMIT: '2' } });
    await createProduct(t, { sku: 'M-A', totalQuantity: 3, maxPerUser: 2 });
    await createProduct(t, { sku: 'M-B', totalQuantity: 10 });
    await createProduct(t, { sku: 'M-C', totalQuantity: 10 });
    const statuses = [
      (await reserve(t, 'u1', 'M-A', 1)).status, // created
      (await reserve(t, 'u1', 'M-A', 1)).status, // the same reserve again: replayed
      (await reserve(t, 'u1', 'M-A', 2)).status, // a different one while holding: conflict
      (await reserve(t, 'u2', 'M-A', 3)).status, // over maxPerUser: limit
      (await reserve(t, 'u3', 'M-B', 1, { 'idempotency-key': 'k1' })).status, // created
      (await reserve(t, 'u3', 'M-B', 1, { 'idempotency-key': 'k1' })).status, // idempotent replay
      (await reserve(t, 'u4', 'M-A', 2)).status, // 2 left of 3: created
      (await reserve(t, 'u5', 'M-A', 1)).status, // sold out: insufficient
      (await post(t, '/inventory/reserve', { userId: 'u6', sku: 'M-A', quantity: 0 })).status, // invalid
      (await reserve(t, 'u7', 'NOPE', 1)).status, // unknown sku: invalid
    ];
    assert.deepEqual(statuses, [201, 200, 409, 400, 201, 201, 201, 400, 400, 404]);
    const u1 = (await get(t, '/reservation/' + (await reserve(t, 'u1', 'M-A', 1)).body.data.reservationId)).body.data.reservationId;
    const order = await post(t, '/checkout/confirm', { reservationId: u1, userId: 'u1' });
    assert.equal(order.status, 201);
    assert.equal((await post(t, '/checkout/cancel', { orderId: order.body.data.orderId, userId: 'u1' })).status, 200);
    t.clock.advance(TTL_MS + 1);
    let text = await scrape(t);
    assert.equal(sample(text, 'stockhold_sweeper_lag_seconds'), 0.001, 'u4 and u3 are due and not yet expired: the oldest by 1 ms');
    assert.equal((await t.sweeper.runOnce()).expired, 2);

    text = await scrape(t);
    const outcome = (o: string) => sample(text, 'stockhold_reserve_requests_total', { outcome: o });
    assert.deepEqual(
      Object.fromEntries(['created', 'replayed', 'conflict', 'limit', 'insufficient', 'invalid'].map((o) => [o, outcome(o)])),
      { created: 3, replayed: 3, conflict: 1, limit: 1, insufficient: 1, invalid: 2 },
    );
    assert.equal(sample(text, 'stockhold_idempotent_replays_total'), 1);
    assert.equal(sample(text, 'stockhold_orders_confirmed_total'), 1);
    assert.equal(sample(text, 'stockhold_cancellations_total', { kind: 'order' }), 1);
    assert.equal(sample(text, 'stockhold_reservations_expired_total'), 2);
    assert.equal(sample(text, 'stockhold_sweeper_lag_seconds'), 0);
    assert.equal(sample(text, 'http_request_duration_seconds_count', { method: 'POST', route: '/inventory/reserve', status_class: '4xx' }), 5);
    assert.equal(sample(text, 'http_request_duration_seconds_count', { method: 'POST', route: '/inventory/reserve', status_class: '2xx' }), 6);
    // Per-SKU gauges for the first METRICS_SKU_LIMIT SKUs only; the sold unit came back on cancel.
    assert.equal(sample(text, 'stockhold_sku_available_units', { sku: 'M-A' }), 3);
    assert.equal(sample(text, 'stockhold_sku_reserved_units', { sku: 'M-B' }), 0);
    assert.equal(sample(text, 'stockhold_sku_sold_units', { sku: 'M-A' }), 0);
    assert.equal(sample(text, 'stockhold_sku_available_units', { sku: 'M-C' }), undefined, 'past METRICS_SKU_LIMIT');
    assert.ok(sample(text, 'nodejs_eventloop_lag_seconds') !== undefined, 'Node metrics are included');
  });

  it('counts rate-limited requests', async () => {
    t = await startTestApp({ env: { RATE_LIMIT_MAX: '2' } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(t, '/inventory')).status);
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    assert.equal(sample(await scrape(t), 'stockhold_rate_limited_requests_total'), 2);
  });

  it('METRICS=off: no /metrics', async () => {
    t = await startTestApp({ env: { METRICS: 'off' } });
    assert.equal((await get(t, '/metrics')).status, 404);
  });

  it('with AUTH_MODE=jwt, /metrics takes the admin role or the METRICS_TOKEN bearer', async () => {
    const secret = 'a-test-secret-that-is-long-enough-for-hs256';
    const metricsToken = 'scrape-token-0123456789';
    t = await startTestApp({ env: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: secret, METRICS_TOKEN: metricsToken } });
    const jwt = (role: string) =>
      new SignJWT({ role, sub: 'someone' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(t.clock.now() / 1000) + 60).sign(new TextEncoder().encode(secret));
    const status = async (headers: Record<string, string>) => (await t.app.inject({ method: 'GET', url: '/metrics', headers })).statusCode;
    assert.deepEqual(
      [
        await status({}),
        await status({ authorization: `Bearer ${await jwt('customer')}` }),
        await status({ authorization: `Bearer ${await jwt('admin')}` }),
        await status({ authorization: `Bearer ${metricsToken}` }),
        await status({ authorization: `Bearer ${metricsToken}x` }),
      ],
      [401, 403, 200, 200, 401],
    );
  });
});

describe('probes', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('/livez always answers; /readyz is 503 while starting or draining, or when the store does not answer', async () => {
    t = await startTestApp();
    assert.deepEqual([(await get(t, '/livez')).status, (await get(t, '/readyz')).status, (await get(t, '/healthz')).status], [200, 200, 200]);
    t.readiness.drain();
    const draining = await get(t, '/readyz');
    assert.equal(draining.status, 503);
    assert.deepEqual([draining.body.code, draining.body.details], ['SERVICE_UNAVAILABLE', { state: 'draining', retryAfterSeconds: 1 }]);
    assert.equal((await get(t, '/livez')).status, 200, 'a draining process is alive');
    assert.equal((await get(t, '/inventory')).status, 503, 'other routes turn requests away while draining');

    const starting = await startTestApp();
    try {
      (starting.readiness as unknown as { current: string }).current = 'starting';
      assert.deepEqual((await get(starting, '/readyz')).body.details, { state: 'starting', retryAfterSeconds: 1 });
      starting.readiness.ready();
      starting.store.ping = () => Promise.reject(new Error('connection refused'));
      const down = await get(starting, '/readyz');
      assert.deepEqual([down.status, down.body.code], [503, 'SERVICE_UNAVAILABLE']);
    } finally {
      await starting.close();
    }
  });
});
