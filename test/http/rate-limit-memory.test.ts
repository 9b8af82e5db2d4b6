import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SignJWT } from 'jose';
import { localCountersOf } from '../../src/http/rate-limit.js';
import { boundedKey, MAX_KEY_CHARS, OVERFLOW_COUNTERS, WindowCounters } from '../../src/http/rate-limit-store.js';
import { get, post, startTestApp, type TestApp } from '../helpers/test-app.js';

const SECRET = 'rate-limit-memory-test-secret-0123456789';
const JWT_ENV = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use once garbage is collected: what the process keeps, not what it churned through. */
function liveHeapBytes(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function bearer(t: TestApp, sub: string, role: string): Promise<Record<string, string>> {
  const jwt = await new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(Math.floor(t.clock.now() / 1000))
    .setExpirationTime(Math.floor(t.clock.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET));
  return { authorization: `Bearer ${jwt}` };
}

describe('rate-limit memory', () => {
  it('2,000 distinct 20,000-character shopper ids from a service become no counters and keep no memory', async () => {
    const t = await startTestApp({ env: { ...JWT_ENV, RATE_LIMIT_MAX: '100000', RESERVE_RATE_LIMIT_MAX: '100000' } });
    try {
      const service = await bearer(t, 'storefront', 'service');
      const reserve = (userId: string) => post(t, '/inventory/reserve', { userId, sku: 'NONE', quantity: 1 }, service);
      for (let i = 0; i < 20; i++) await reserve(`warm-${i}`);
      const heapBefore = liveHeapBytes();
      const rssBefore = process.memoryUsage().rss;
      const statuses = new Set<number>();
      for (let i = 0; i < 2_000; i++) statuses.add((await reserve(`${i}-${'x'.repeat(20_000)}`)).status);
      assert.deepEqual([...statuses], [400], 'every oversized id is refused by validation');
      const heapGrowth = liveHeapBytes() - heapBefore;
      const rssGrowth = process.memoryUsage().rss - rssBefore;
      // 2,000 ids of 20,000 characters are 40 MB: kept as keys, they would show many times over.
      assert.ok(heapGrowth < 8_000_000, `live heap grew ${(heapGrowth / 1e6).toFixed(1)} MB (RSS ${(rssGrowth / 1e6).toFixed(1)} MB)`);
      // The 20 warm-up shoppers and the service itself: an invalid userId counts against the service.
      assert.deepEqual(localCountersOf(t.app).map((table) => table.size), [21, 21]);
    } finally {
      await t.close();
    }
  });

  it("a service flooding the table with new shopper ids cannot reset another client's count", async () => {
    const t = await startTestApp({
      env: { ...JWT_ENV, RATE_LIMIT_MAX: '5', RESERVE_RATE_LIMIT_MAX: '0', RATE_LIMIT_LOCAL_CLIENTS: '100' },
    });
    try {
      const alice = await bearer(t, 'alice', 'customer');
      const service = await bearer(t, 'storefront', 'service');
      const first = await Promise.all([1, 2, 3].map(() => get(t, '/inventory', alice)));
      assert.deepEqual(first.map((r) => r.status), [200, 200, 200]);
      for (let i = 0; i < 1_000; i++) await post(t, '/inventory/reserve', { userId: `shopper-${i}`, sku: 'NONE', quantity: 1 }, service);
      const [table] = localCountersOf(t.app);
      assert.ok(table);
      assert.ok(table.size <= 100 + OVERFLOW_COUNTERS, `the table holds ${table.size} counters`);
      const rest = [];
      for (let i = 0; i < 3; i++) rest.push((await get(t, '/inventory', alice)).status);
      assert.deepEqual(rest, [200, 200, 429], "alice's count went on from 3: her 6th request is over the limit of 5");
    } finally {
      await t.close();
    }
  });
});

describe('WindowCounters', () => {
  const count = (table: WindowCounters, key: string, windowMs = 1_000) =>
    new Promise<{ current: number; ttl: number }>((resolve) => table.incr(key, (_err, c) => resolve(c), windowMs));

  it('forgets a client when its window ends, and only then', async () => {
    let now = 0;
    const table = new WindowCounters(10, () => now);
    assert.deepEqual(await count(table, 'a'), { current: 1, ttl: 1_000 });
    now = 400;
    assert.deepEqual(await count(table, 'b'), { current: 1, ttl: 1_000 });
    assert.deepEqual(await count(table, 'a'), { current: 2, ttl: 600 });
    now = 1_000;
    assert.deepEqual(await count(table, 'c'), { current: 1, ttl: 1_000 });
    assert.equal(table.size, 2, "a's window ended: b and c remain");
    assert.deepEqual(await count(table, 'a'), { current: 1, ttl: 1_000 });
  });

  it('counts new keys in shared overflow counters when full, never evicting a live one', async () => {
    const now = 0;
    const table = new WindowCounters(2, () => now);
    await count(table, 'a');
    await count(table, 'b');
    let bucketsStarted = 0;
    for (let i = 0; i < 5_000; i++) if ((await count(table, `flood-${i}`)).current === 1) bucketsStarted++;
    assert.ok(table.size > 2 && table.size <= 2 + OVERFLOW_COUNTERS, `the table holds ${table.size} counters`);
    // Each flood key was counted in an overflow counter: only a counter's first count is a 1.
    assert.equal(bucketsStarted, table.size - 2);
    assert.deepEqual(await count(table, 'a'), { current: 2, ttl: 1_000 });
    assert.deepEqual(await count(table, 'b'), { current: 2, ttl: 1_000 });
  });

  it('stores long keys as a fixed-size hash', () => {
    assert.equal(boundedKey('ip:203.0.113.9'), 'ip:203.0.113.9');
    const long = boundedKey(`service:storefront:user:${'x'.repeat(1_000)}`);
    assert.ok(long.length <= MAX_KEY_CHARS);
    assert.notEqual(long, boundedKey(`service:storefront:user:${'x'.repeat(999)}y`));
  });
});
