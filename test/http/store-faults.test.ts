// Store faults over HTTP on SQLite, raised by the real engine on a real file: a full database, a
// read-only connection, another process's write lock. Each answers 503 SERVICE_UNAVAILABLE with
// Retry-After, changes nothing, and the same app serves again once the fault is gone, with books
// that reconcile. (PostgreSQL outages are covered by test/scale/outage.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { FastifyBaseLogger } from 'fastify';
import { ExpirySweeper } from '../../src/jobs/expiry-sweeper.js';
import { IdempotencyService } from '../../src/services/idempotency.service.js';
import { ReconciliationService } from '../../src/services/reconciliation.service.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { StoreUnavailableError } from '../../src/domain/store-unavailable.js';
import {
  createProduct,
  get,
  post,
  productOf,
  reserve,
  startTestApp,
  TEST_STORE,
  TTL_MS,
  type JsonResponse,
  type TestApp,
} from '../helpers/test-app.js';

const dir = mkdtempSync(join(tmpdir(), 'stockhold-store-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

interface FaultyApp {
  t: TestApp;
  store: SqliteStore;
  filename: string;
}

/** An app on a file database of its own, its store within reach for injecting the fault. */
async function startFaultyApp(ctx: TestContext): Promise<FaultyApp> {
  const filename = join(dir, `app-${++files}.db`);
  const store = new SqliteStore({ filename, busyTimeoutMs: 50 });
  const t = await startTestApp({ store });
  ctx.after(() => t.close());
  return { t, store, filename };
}

function assert503(res: JsonResponse, what: string): void {
  assert.equal(res.status, 503, `${what}: ${res.raw}`);
  assert.equal(res.body.success, false, what);
  assert.equal(res.body.statusCode, 503, what);
  assert.equal(res.body.code, 'SERVICE_UNAVAILABLE', what);
  assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, `${what} carries Retry-After`);
}

async function assertBooksBalance(t: TestApp): Promise<void> {
  const report = await new ReconciliationService({ store: t.store, clock: t.clock, events: t.events }).check();
  assert.deepEqual(report.drifts, [], 'counters agree with the ledger, reservations and orders');
}

const counters = async (t: TestApp, sku: string) => {
  const { totalQuantity, reservedQuantity, soldQuantity, availableQuantity } = await productOf(t, sku);
  return { totalQuantity, reservedQuantity, soldQuantity, availableQuantity };
};

/** Skus as long as allowed, so a 50-line reserve or its order cannot fit in the pages the database has. */
const skuNo = (i: number) => `${'S'.repeat(60)}${String(i).padStart(4, '0')}`;
const WIDE = Array.from({ length: 50 }, (_, i) => skuNo(i));
const wideLines = WIDE.map((sku) => ({ sku, quantity: 1 }));

describe('store faults over HTTP (SQLite)', { skip: TEST_STORE === 'postgres' ? 'SQLite faults; PostgreSQL outages are test/scale/outage.test.ts' : false }, () => {
  it('a full disk answers 503 with Retry-After and loses nothing; freeing space resumes service', async (ctx) => {
    const { t, store } = await startFaultyApp(ctx);
    for (const sku of WIDE) await createProduct(t, { sku, totalQuantity: 5 });
    const held = await post(t, '/inventory/reserve', { userId: 'holder', items: wideLines });
    assert.equal(held.status, 201, held.raw);
    const before = await counters(t, WIDE[0] as string);

    store.pragma(`max_page_count = ${String(store.pragma('page_count'))}`);

    // With an Idempotency-Key: the failed attempt must free the key, so the retry runs.
    const retryKey = { 'idempotency-key': 'late-wide-reserve' };
    assert503(await post(t, '/inventory/reserve', { userId: 'late', items: wideLines }, retryKey), 'reserve');
    assert503(await post(t, '/checkout/confirm', { userId: 'holder', reservationId: held.body.data.reservationId }), 'confirm');
    // Creates fill the database until one does not fit: that one is refused, the others are all there.
    const created: string[] = [];
    let refused: JsonResponse | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const sku = skuNo(1000 + i);
      const res = await post(t, '/inventory', { sku, productName: 'N'.repeat(200), price: 10, totalQuantity: 3 });
      if (res.status === 201) created.push(sku);
      else refused = res;
    }
    assert.ok(refused, 'the database filled up');
    assert503(refused, 'create');
    // Reads still work on a full disk, and show nothing of the refused writes.
    assert.deepEqual(await counters(t, WIDE[0] as string), before);
    assert.equal((await get(t, `/reservation/${held.body.data.reservationId}`)).body.data.status, 'RESERVED');
    for (const sku of created) assert.equal((await get(t, `/inventory/${sku}`)).status, 200);
    assert.equal((await get(t, `/inventory/${skuNo(1000 + created.length)}`)).status, 404);
    // Nothing is written by the probe, so /healthz cannot see a full disk: the instance stays in
    // rotation and resumes the moment space is freed (documented in RELIABILITY.md).
    assert.equal((await get(t, '/healthz')).status, 200);
    await assertBooksBalance(t);

    store.pragma('max_page_count = 1073741823');
    assert.equal((await post(t, '/inventory/reserve', { userId: 'late', items: wideLines }, retryKey)).status, 201);
    assert.equal((await post(t, '/checkout/confirm', { userId: 'holder', reservationId: held.body.data.reservationId })).status, 201);
    assert.equal((await createProduct(t, { sku: 'AFTER', totalQuantity: 1 })).sku, 'AFTER');
    assert.deepEqual(await counters(t, WIDE[0] as string), { totalQuantity: 4, reservedQuantity: 1, soldQuantity: 1, availableQuantity: 3 });
    await assertBooksBalance(t);
  });

  it('a read-only database answers 503 with Retry-After to writes, reads and /healthz; becoming writable resumes service', async (ctx) => {
    const { t, store } = await startFaultyApp(ctx);
    await createProduct(t, { sku: 'RO', totalQuantity: 5 });
    const held = await reserve(t, 'holder', 'RO', 2);
    assert.equal(held.status, 201, held.raw);

    store.pragma('query_only = ON');
    assert503(await reserve(t, 'late', 'RO', 1), 'reserve');
    assert503(await post(t, '/checkout/confirm', { userId: 'holder', reservationId: held.body.data.reservationId }), 'confirm');
    assert503(await post(t, '/inventory', { sku: 'NEW', productName: 'New', price: 10, totalQuantity: 1 }), 'create');
    // Every request runs in a write transaction (reads may expire a due reservation).
    assert503(await get(t, '/inventory/RO'), 'read');
    assert503(await get(t, '/healthz'), '/healthz');

    store.pragma('query_only = OFF');
    assert.equal((await get(t, '/healthz')).status, 200);
    assert.deepEqual(await counters(t, 'RO'), { totalQuantity: 5, reservedQuantity: 2, soldQuantity: 0, availableQuantity: 3 });
    assert.equal((await get(t, '/inventory/NEW')).status, 404);
    assert.equal((await reserve(t, 'late', 'RO', 1)).status, 201);
    assert.equal((await post(t, '/checkout/confirm', { userId: 'holder', reservationId: held.body.data.reservationId })).status, 201);
    assert.equal((await post(t, '/inventory', { sku: 'NEW', productName: 'New', price: 10, totalQuantity: 1 })).status, 201);
    assert.deepEqual(await counters(t, 'RO'), { totalQuantity: 3, reservedQuantity: 1, soldQuantity: 2, availableQuantity: 2 });
    await assertBooksBalance(t);
  });

  it('a database another process has locked answers 503 with Retry-After after the busy timeout; unlocking resumes service', async (ctx) => {
    const { t, filename } = await startFaultyApp(ctx);
    await createProduct(t, { sku: 'BUSY', totalQuantity: 5 });
    const held = await reserve(t, 'holder', 'BUSY', 1);
    assert.equal(held.status, 201, held.raw);

    const other = new Database(filename);
    ctx.after(() => other.close());
    other.exec('BEGIN EXCLUSIVE');
    const answers = await Promise.all([
      reserve(t, 'late', 'BUSY', 1),
      post(t, '/checkout/confirm', { userId: 'holder', reservationId: held.body.data.reservationId }),
      post(t, '/inventory', { sku: 'NEW', productName: 'New', price: 10, totalQuantity: 1 }),
      get(t, '/healthz'),
    ]);
    for (const [i, what] of ['reserve', 'confirm', 'create', '/healthz'].entries()) assert503(answers[i] as JsonResponse, what);

    other.exec('COMMIT');
    assert.equal((await get(t, '/healthz')).status, 200);
    assert.deepEqual(await counters(t, 'BUSY'), { totalQuantity: 5, reservedQuantity: 1, soldQuantity: 0, availableQuantity: 4 });
    assert.equal((await reserve(t, 'late', 'BUSY', 1)).status, 201);
    assert.equal((await post(t, '/checkout/confirm', { userId: 'holder', reservationId: held.body.data.reservationId })).status, 201);
    assert.equal((await post(t, '/inventory', { sku: 'NEW', productName: 'New', price: 10, totalQuantity: 1 })).status, 201);
    await assertBooksBalance(t);
  });

  it('a batch lost to a full disk leaves no sku wrongly sold out: the unit it never took is reservable', async (ctx) => {
    const { t, store } = await startFaultyApp(ctx);
    await createProduct(t, { sku: 'SOLO', totalQuantity: 1 });
    store.pragma(`max_page_count = ${String(store.pragma('page_count'))}`);

    // One group-committed batch: u1 takes the last unit, u2 then finds none (and the sold-out
    // cache learns it), and a write that needs new pages makes SQLite abandon the whole batch.
    const batch = await Promise.allSettled([
      t.reservations.reserve({ userId: 'u1', lines: [{ sku: 'SOLO', quantity: 1 }] }),
      t.reservations.reserve({ userId: 'u2', lines: [{ sku: 'SOLO', quantity: 1 }] }),
      t.store.transaction((tx) =>
        tx.products.insert({ sku: 'BIG', productName: 'x'.repeat(64 * 1024), priceMinor: 1, onHand: 1, maxPerUser: null }, t.clock.now()),
      ),
    ]);
    for (const result of batch) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof StoreUnavailableError, String(result.reason));
    }

    store.pragma('max_page_count = 1073741823');
    assert.deepEqual(await counters(t, 'SOLO'), { totalQuantity: 1, reservedQuantity: 0, soldQuantity: 0, availableQuantity: 1 });
    const retried = await reserve(t, 'u2', 'SOLO', 1);
    assert.equal(retried.status, 201, `the unit is on sale, not sold out: ${retried.raw}`);
    await assertBooksBalance(t);
  });

  it('the expiry sweeper logs a store fault and keeps running; it expires what fell due once the fault is gone', async (ctx) => {
    const { t, store } = await startFaultyApp(ctx);
    await createProduct(t, { sku: 'DUE', totalQuantity: 2 });
    const held = await reserve(t, 'holder', 'DUE', 2);
    assert.equal(held.status, 201, held.raw);
    t.clock.advance(TTL_MS + 1);

    const warnings: unknown[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    ctx.after(() => process.off('unhandledRejection', onUnhandled));
    const quiet = () => undefined;
    const logger = {
      warn: (obj: unknown) => warnings.push(obj), debug: quiet, info: quiet, error: quiet, fatal: quiet, trace: quiet,
    } as unknown as FastifyBaseLogger;
    const sweeper = new ExpirySweeper({
      reservations: t.reservations,
      idempotency: new IdempotencyService({ store: t.store, clock: t.clock }),
      intervalMs: 10,
      logger,
    });
    ctx.after(() => sweeper.stop());

    store.pragma('query_only = ON');
    sweeper.start();
    while (warnings.length < 3) await sleep(10);
    const logged = warnings[0] as { err?: unknown };
    assert.ok(logged.err instanceof StoreUnavailableError, 'the fault is logged with its error');

    store.pragma('query_only = OFF');
    const deadline = Date.now() + 5_000;
    while ((await counters(t, 'DUE')).reservedQuantity !== 0) {
      assert.ok(Date.now() < deadline, 'the sweeper expired the due reservation after the fault');
      await sleep(10);
    }
    assert.equal((await get(t, `/reservation/${held.body.data.reservationId}`)).body.data.status, 'EXPIRED');
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    await assertBooksBalance(t);
  });
});
