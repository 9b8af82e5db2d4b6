import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DomainEvents } from '../../src/domain/events.js';
import { ReconciliationService, type ProductDrift } from '../../src/services/reconciliation.service.js';
import { StartupCheckError } from '../../src/startup/startup-check.js';
import type { Store } from '../../src/storage/store.js';
import { logLines, meaningfulLines, ROOT, runNode, startServer, tempDir, type CleanupOwner } from '../process/server-process.js';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/scratch-database.js';
import { createProduct, get, post, productOf, reserve, startTestApp, TTL_MS, type TestApp } from '../helpers/test-app.js';

const reconciler = (t: TestApp) => new ReconciliationService({ store: t.store, clock: t.clock, events: t.events });

/** Checks a store opened for the purpose, and closes it. */
async function checkStore(store: Store) {
  try {
    return await new ReconciliationService({ store, clock: { now: () => 0 }, events: new DomainEvents() }).check();
  } finally {
    await store.close();
  }
}

/** `node --import tsx src/cli/verify.ts <args>`: its exit status and output. */
function runVerify(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/verify.ts', ...args], { cwd: ROOT, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function reserveOk(t: TestApp, userId: string, sku: string, quantity: number): Promise<string> {
  const res = await reserve(t, userId, sku, quantity);
  assert.equal(res.status, 201, res.raw);
  return res.body.data.reservationId;
}

async function confirmOk(t: TestApp, userId: string, reservationId: string): Promise<string> {
  const res = await post(t, '/checkout/confirm', { reservationId, userId });
  assert.equal(res.status, 201, res.raw);
  return res.body.data.orderId;
}

/**
 * One product per kind of drift, made behind the services' back with raw SQL, and the drifts
 * the reconciler must report for them (sorted by sku, then in the order of the checks).
 * With `contradictoryLedger`, also a product whose ledger contradicts itself: not repairable.
 */
async function driftedDatabase(options: { contradictoryLedger: boolean }): Promise<ScratchDatabase> {
  const db = await createScratchDatabase();
  try {
    await makeDrift(db, options);
  } catch (err) {
    await db.drop();
    throw err;
  }
  return db;
}

async function makeDrift(db: ScratchDatabase, options: { contradictoryLedger: boolean }): Promise<void> {
  const t = await startTestApp({ store: await db.open() });
  try {
    const skus = ['P-BOUNDS', 'P-CLEAN', 'P-COUNTER', 'P-LEDGER', 'P-LIVE', 'P-ORDER'];
    if (options.contradictoryLedger) skus.push('P-RECEIVED');
    for (const sku of skus) await createProduct(t, { sku, totalQuantity: 10 });
    await reserveOk(t, 'u1', 'P-COUNTER', 2);
    await reserveOk(t, 'u2', 'P-LIVE', 3);
    await confirmOk(t, 'u3', await reserveOk(t, 'u3', 'P-ORDER', 4));
    await reserveOk(t, 'u4', 'P-LEDGER', 1);
    await confirmOk(t, 'u5', await reserveOk(t, 'u5', 'P-CLEAN', 2));
    await reserveOk(t, 'u6', 'P-CLEAN', 1);
    if (options.contradictoryLedger) await confirmOk(t, 'u7', await reserveOk(t, 'u7', 'P-RECEIVED', 2));
  } finally {
    await t.close();
  }
  await db.exec(`
    UPDATE products SET on_hand = 13 WHERE sku = 'P-COUNTER';
    UPDATE reservations SET status = 'CANCELLED' WHERE id IN (SELECT reservation_id FROM reservation_items WHERE sku = 'P-LIVE');
    UPDATE orders SET status = 'CANCELLED' WHERE id IN (SELECT order_id FROM order_items WHERE sku = 'P-ORDER');
    DELETE FROM stock_movements WHERE sku = 'P-LEDGER' AND reason = 'RESERVE';`);
  await db.exec(`UPDATE products SET reserved = 12 WHERE sku = 'P-BOUNDS'`, { unchecked: true });
  if (options.contradictoryLedger) {
    // Counter and ledger agree, but the confirm took one unit more off the shelf than it sold.
    await db.exec(`
      UPDATE stock_movements SET delta_on_hand = delta_on_hand - 1 WHERE sku = 'P-RECEIVED' AND reason = 'CONFIRM';
      UPDATE products SET on_hand = on_hand - 1 WHERE sku = 'P-RECEIVED';`);
  }
}

const drift = (sku: string, check: ProductDrift['check'], field: ProductDrift['field'], stored: number, expected: number): ProductDrift => ({
  sku,
  check,
  field,
  stored,
  expected,
});

const REPAIRABLE_DRIFTS: ProductDrift[] = [
  drift('P-BOUNDS', 'ledger', 'reserved', 12, 0),
  drift('P-BOUNDS', 'reservations', 'reserved', 12, 0),
  drift('P-BOUNDS', 'bounds', 'reserved', 12, 10),
  drift('P-COUNTER', 'ledger', 'on_hand', 13, 10),
  drift('P-COUNTER', 'received', 'on_hand+sold', 13, 10),
  drift('P-LEDGER', 'ledger', 'reserved', 1, 0),
  drift('P-LIVE', 'reservations', 'reserved', 3, 0),
  drift('P-ORDER', 'orders', 'sold', 4, 0),
];

/** What the repair must leave: [on_hand, reserved, sold] per product. */
const REPAIRED: Record<string, [number, number, number]> = {
  'P-BOUNDS': [10, 0, 0], // the ledger and the (no) live reservations agree: counter only
  'P-CLEAN': [8, 1, 2],
  'P-COUNTER': [10, 2, 0], // the ledger wins over the counter
  'P-LEDGER': [10, 1, 0], // the live reservation wins over the ledger: ADJUST +1 reserved
  'P-LIVE': [10, 0, 0], // no live reservation: ADJUST -3 reserved
  'P-ORDER': [10, 0, 0], // no order: ADJUST +4 on_hand, -4 sold (nothing left the shelf)
};

async function assertRepaired(t: TestApp): Promise<void> {
  for (const [sku, [onHand, reserved, sold]] of Object.entries(REPAIRED)) {
    const p = await productOf(t, sku);
    assert.deepEqual([p.totalQuantity, p.reservedQuantity, p.soldQuantity], [onHand, reserved, sold], sku);
  }
  const adjustments = async (sku: string) =>
    (await get(t, `/inventory/${sku}/movements?limit=100`)).body.data
      .filter((m: { reason: string }) => m.reason === 'ADJUST')
      .map((m: { deltaOnHand: number; deltaReserved: number; deltaSold: number; refId: string }) => [
        m.deltaOnHand,
        m.deltaReserved,
        m.deltaSold,
        m.refId,
      ]);
  assert.deepEqual(await adjustments('P-LEDGER'), [[0, 1, 0, 'reconcile']]);
  assert.deepEqual(await adjustments('P-LIVE'), [[0, -3, 0, 'reconcile']]);
  assert.deepEqual(await adjustments('P-ORDER'), [[4, 0, -4, 'reconcile']]);
  for (const sku of ['P-BOUNDS', 'P-CLEAN', 'P-COUNTER']) assert.deepEqual(await adjustments(sku), [], sku);
}

describe('reconciliation', () => {
  it('finds no drift after a mixed workload, and the repair then changes nothing', async () => {
    const t = await startTestApp();
    try {
      await createProduct(t, { sku: 'MIX-A', totalQuantity: 20 });
      await createProduct(t, { sku: 'MIX-B', totalQuantity: 10 });
      await createProduct(t, { sku: 'MIX-C', totalQuantity: 5 });
      await createProduct(t, { sku: 'MIX-EMPTY', totalQuantity: 0 });
      // Cancelled, swept and lazily expired reservations.
      const cancelled = await reserveOk(t, 'u4', 'MIX-A', 1);
      assert.equal((await post(t, '/inventory/reserve/cancel', { reservationId: cancelled, userId: 'u4' })).status, 200);
      await reserveOk(t, 'u5', 'MIX-C', 2);
      const lazy = await reserveOk(t, 'u8', 'MIX-B', 1);
      t.clock.advance(TTL_MS + 1);
      assert.equal((await get(t, `/reservation/${lazy}`)).body.data.status, 'EXPIRED');
      assert.equal((await t.sweeper.runOnce()).expired, 1);
      // A completed order, a failed payment, a cancelled order, a pending order and a live hold.
      const multi = await post(t, '/inventory/reserve', { userId: 'u1', items: [{ sku: 'MIX-A', quantity: 2 }, { sku: 'MIX-B', quantity: 1 }] });
      assert.equal(multi.status, 201, multi.raw);
      const paid = await confirmOk(t, 'u1', multi.body.data.reservationId);
      assert.equal((await post(t, `/order/${paid}/payment`, { status: 'SUCCESS' })).status, 200);
      const failed = await confirmOk(t, 'u2', await reserveOk(t, 'u2', 'MIX-A', 3));
      assert.equal((await post(t, `/order/${failed}/payment`, { status: 'FAILED' })).status, 200);
      const cancelledOrder = await confirmOk(t, 'u3', await reserveOk(t, 'u3', 'MIX-B', 2));
      assert.equal((await post(t, '/checkout/cancel', { orderId: cancelledOrder, userId: 'u3' })).status, 200);
      await confirmOk(t, 'u6', await reserveOk(t, 'u6', 'MIX-C', 1));
      await reserveOk(t, 'u7', 'MIX-A', 4);

      const report = await reconciler(t).check();
      assert.deepEqual(report, { skusChecked: 4, driftedSkus: 0, drifts: [] });
      // The figures were recomputed, not just copied: the live hold and the two kept orders show.
      const balances = await t.store.transaction((tx) => tx.ledger.balances());
      assert.deepEqual(
        balances.map((b) => [b.sku, b.onHand, b.liveReserved, b.orderedSold, b.received]),
        [
          ['MIX-A', 18, 4, 2, 20],
          ['MIX-B', 9, 0, 1, 10],
          ['MIX-C', 4, 0, 1, 5],
          ['MIX-EMPTY', 0, 0, 0, 0],
        ],
      );
      const repaired = await reconciler(t).repair();
      assert.deepEqual(repaired.corrections, []);
    } finally {
      await t.close();
    }
  });

  it('reports each kind of drift with its sku, field, stored and expected value', async () => {
    const db = await driftedDatabase({ contradictoryLedger: true });
    try {
      const report = await checkStore(await db.open());
      assert.deepEqual(report, {
        skusChecked: 7,
        driftedSkus: 6,
        drifts: [...REPAIRABLE_DRIFTS, drift('P-RECEIVED', 'received', 'on_hand+sold', 9, 10)],
      });
    } finally {
      await db.drop();
    }
  });

  it('refuses to start on drift, and STARTUP_CHECK=repair sets the counters to the recomputed values', async () => {
    const db = await driftedDatabase({ contradictoryLedger: false });
    try {
      await assert.rejects(startTestApp({ store: await db.open() }), (err: unknown) => {
        assert.ok(err instanceof StartupCheckError);
        assert.match(err.message, /^start-up check found drift in 5 of 6 skus: P-BOUNDS reserved: stored 12, expected 0 \(ledger replay\);/);
        assert.match(err.message, /STARTUP_CHECK=repair/);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
      const t = await startTestApp({ store: await db.open(), env: { STARTUP_CHECK: 'repair' } });
      try {
        await assertRepaired(t);
        assert.deepEqual((await reconciler(t).check()).drifts, []);
        // The repaired store serves: the freed units of P-LIVE can be reserved again.
        await reserveOk(t, 'u9', 'P-LIVE', 10);
      } finally {
        await t.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('will not repair a ledger that contradicts itself, and then writes nothing', async () => {
    const db = await driftedDatabase({ contradictoryLedger: true });
    try {
      await assert.rejects(startTestApp({ store: await db.open(), env: { STARTUP_CHECK: 'repair' } }), (err: unknown) => {
        assert.ok(err instanceof StartupCheckError);
        assert.match(err.message, /^start-up repair refused: P-RECEIVED: the ledger contradicts itself/);
        return true;
      });
      assert.equal((await checkStore(await db.open())).drifts.length, REPAIRABLE_DRIFTS.length + 1);
      const adjustments = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM stock_movements WHERE reason = 'ADJUST'`);
      assert.equal(Number(adjustments[0]?.n), 0);
    } finally {
      await db.drop();
    }
  });

  describe('the processes', { timeout: 300_000 }, () => {
    let db: ScratchDatabase;
    const cleanups: Array<() => Promise<void> | void> = [];
    const owner: CleanupOwner = { after: (fn) => cleanups.push(fn) };
    before(async () => {
      db = await driftedDatabase({ contradictoryLedger: false });
    });
    after(async () => {
      for (const fn of cleanups.reverse()) await fn();
      await db.drop();
    });
    const env = (overrides: Record<string, string> = {}) => ({ ...process.env, DATABASE_URL: db.databaseUrl, ...overrides });

    it('npm run verify exits 1 listing each drift, 2 on bad usage or a missing database', async (t) => {
      const missing = join(tempDir(t), 'missing.db');
      const [text, json, usage, absent] = await Promise.all([
        runVerify([], env()),
        runVerify(['--json'], env()),
        runVerify(['--bogus'], env()),
        runVerify([], env({ DATABASE_URL: `sqlite:${missing}` })),
      ]);
      assert.equal(text.code, 1, text.stderr);
      const lines = text.stdout.trim().split('\n');
      assert.deepEqual(lines.slice(0, -1), [
        'drift: P-BOUNDS reserved: stored 12, expected 0 (ledger replay)',
        'drift: P-BOUNDS reserved: stored 12, expected 0 (live reservations)',
        'drift: P-BOUNDS reserved: stored 12, expected 10 (bounds)',
        'drift: P-COUNTER on_hand: stored 13, expected 10 (ledger replay)',
        'drift: P-COUNTER on_hand+sold: stored 13, expected 10 (units received)',
        'drift: P-LEDGER reserved: stored 1, expected 0 (ledger replay)',
        'drift: P-LIVE reserved: stored 3, expected 0 (live reservations)',
        'drift: P-ORDER sold: stored 4, expected 0 (confirmed and completed orders)',
      ]);
      assert.match(lines.at(-1) as string, /^verify: 6 skus checked on \S+, 5 drifted \(8 counters\)$/);

      assert.equal(json.code, 1, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.ok, false);
      assert.equal(parsed.skusChecked, 6);
      assert.equal(parsed.driftedSkus, 5);
      assert.deepEqual(parsed.drifts, REPAIRABLE_DRIFTS);

      assert.equal(usage.code, 2);
      assert.deepEqual(meaningfulLines(usage.stderr), ['stockhold verify: unknown argument "--bogus" (usage: npm run verify [-- --json])']);
      assert.equal(absent.code, 2);
      assert.deepEqual(meaningfulLines(absent.stderr), [`stockhold verify: no database at ${missing} (DATABASE_URL)`]);
    });

    it('the server refuses to start on drift with one line on stderr; STARTUP_CHECK=off starts with a warning', async () => {
      const [refused, off] = await Promise.all([
        runNode(owner, 'src/server.ts', env({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' })),
        startServer(owner, { databaseUrl: db.databaseUrl, env: { STARTUP_CHECK: 'off' } }),
      ]);
      assert.equal(refused.code, 1, refused.stderr);
      const lines = meaningfulLines(refused.stderr);
      assert.equal(lines.length, 1, refused.stderr);
      assert.match(lines[0] as string, /^stockhold: failed to start: start-up check found drift in 5 of 6 skus: .*STARTUP_CHECK=repair/);
      assert.ok(!refused.stdout.includes('stockhold is serving'));

      const warnings = logLines(off.stdout()).filter((l) => l.level === 40 && /STARTUP_CHECK=off/.test(String(l.msg)));
      assert.equal(warnings.length, 1, off.stdout());
      assert.ok(!logLines(off.stdout()).some((l) => /start-up check: every counter agrees/.test(String(l.msg))));
      assert.equal((await off.stop('SIGTERM')).code, 0);
    });

    it('STARTUP_CHECK=repair starts with the recomputed counters, and verify is then clean', async () => {
      const server = await startServer(owner, { databaseUrl: db.databaseUrl, env: { STARTUP_CHECK: 'repair' } });
      const logs = logLines(server.stdout());
      assert.ok(logs.some((l) => l.level === 40 && /repaired drift in 5 of 6 skus/.test(String(l.msg))), server.stdout());
      assert.ok(logs.some((l) => l.level === 30 && /^start-up check: every counter agrees/.test(String(l.msg))), server.stdout());
      for (const [sku, [onHand, reserved, sold]] of Object.entries(REPAIRED)) {
        const res = await fetch(`${server.baseUrl}/inventory/${sku}`);
        const p = ((await res.json()) as { data: { totalQuantity: number; reservedQuantity: number; soldQuantity: number } }).data;
        assert.deepEqual([p.totalQuantity, p.reservedQuantity, p.soldQuantity], [onHand, reserved, sold], sku);
      }
      assert.equal((await server.stop('SIGTERM')).code, 0);
      const verify = await runVerify([], env());
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.match(verify.stdout, /^verify: 6 skus checked on \S+, 0 drifted: every counter agrees with the ledger, reservations and orders\n$/);
    });
  });
});
