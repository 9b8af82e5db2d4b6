// Store faults on SQLite, raised by the real engine on the store's own file: a full database, a
// read-only connection, another process's write lock, a COMMIT that fails. What must hold: the
// caller hears StoreUnavailableError (the HTTP layer's 503), nobody is told success for work that
// did not commit, nothing partial commits, and the same store works again once the fault is gone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { NewProduct, Reservation } from '../../src/domain/types.js';
import { SqliteStore, translateError } from '../../src/storage/sqlite/sqlite-store.js';
import { StoreUnavailableError } from '../../src/domain/store-unavailable.js';
import type { StoreTx } from '../../src/storage/store.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

const dir = mkdtempSync(join(tmpdir(), 'stockhold-sqlite-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `faults-${++files}.db`);

const product = (sku: string, onHand: number, productName = `Product ${sku}`): NewProduct => ({
  sku,
  productName,
  priceMinor: 100,
  onHand,
  maxPerUser: null,
});

/** A write that needs many new pages: the first to hit a full database. */
const bigProduct = (sku: string) => product(sku, 1, 'x'.repeat(64 * 1024));

function reservationOf(id: string, sku: string): Reservation {
  return {
    id, userId: 'u', status: 'RESERVED', items: [{ sku, quantity: 1, unitPriceMinor: 100 }],
    expiresAt: T0 + 60_000, createdAt: T0, updatedAt: T0, confirmedAt: null, cancelledAt: null, expiredAt: null,
  };
}

async function openStore(t: TestContext, options: { filename?: string; busyTimeoutMs?: number } = {}) {
  const store = new SqliteStore({ filename: options.filename ?? freshFile(), busyTimeoutMs: options.busyTimeoutMs ?? 50 });
  t.after(() => store.close());
  await store.transaction((tx) => tx.products.insert(product('SKU', 10), T0));
  return store;
}

/** What has committed, read through a second connection: never through the store under test. */
function committed(filename: string) {
  const db = new Database(filename, { readonly: true, fileMustExist: true });
  try {
    return {
      products: db.prepare('SELECT sku, on_hand, reserved FROM products ORDER BY sku').all() as Array<{ sku: string; on_hand: number; reserved: number }>,
      movements: db.prepare('SELECT reason, ref_id FROM stock_movements ORDER BY id').all() as Array<{ reason: string; ref_id: string | null }>,
    };
  } finally {
    db.close();
  }
}

const hold = (ref: string) => (tx: StoreTx) => tx.products.hold([{ sku: 'SKU', quantity: 1 }], ref, T0);

/** The error is StoreUnavailableError, raised by SQLite with a code of this family. */
function assertUnavailable(err: unknown, family: RegExp): true {
  assert.ok(err instanceof StoreUnavailableError, `StoreUnavailableError, got ${String(err)}`);
  const code = (err.cause as { code?: string } | undefined)?.code ?? '';
  assert.match(code, family);
  assert.ok(err.retryAfterSeconds >= 1);
  return true;
}

describe('SQLite store faults', () => {
  it('classifies full, read-only, busy, locked and I/O errors, with their extended codes, as store-unavailable', () => {
    const unavailable = [
      'SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_READONLY_RECOVERY', 'SQLITE_READONLY_DIRECTORY',
      'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE',
      'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_SHORT_READ', 'SQLITE_CANTOPEN',
    ];
    for (const code of unavailable) {
      assert.ok(translateError(Object.assign(new Error(code), { code })) instanceof StoreUnavailableError, code);
    }
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_FOREIGNKEY', 'SQLITE_ERROR', 'SQLITE_MISMATCH']) {
      assert.ok(!(translateError(Object.assign(new Error(code), { code })) instanceof StoreUnavailableError), code);
    }
  });

  it('a full database fails the batch it hit with StoreUnavailableError, commits none of it, and resumes when it may grow', async (t) => {
    const filename = freshFile();
    const store = await openStore(t, { filename });
    store.pragma(`max_page_count = ${String(store.pragma('page_count'))}`);

    // One batch: a small write that fits, one that needs new pages, and one queued behind them.
    const [first, big, last] = await Promise.allSettled([
      store.transaction(hold('first')),
      store.transaction((tx) => tx.products.insert(bigProduct('BIG'), T0)),
      store.transaction(hold('last')),
    ]);
    assert.equal(big.status, 'rejected');
    assertUnavailable(big.reason, /^SQLITE_FULL/);
    // SQLite abandons the whole transaction on SQLITE_FULL: the write that went well before it
    // did not commit, so its caller must not be told it did.
    assert.equal(first.status, 'rejected');
    assertUnavailable(first.reason, /^SQLITE_FULL/);
    // Not yet run when the batch was lost: it runs in the next one and fits.
    assert.deepEqual(last, { status: 'fulfilled', value: { ok: true } });
    assert.deepEqual(committed(filename).movements.map((m) => m.ref_id), [null, 'last']);
    assert.deepEqual(committed(filename).products, [{ sku: 'SKU', on_hand: 10, reserved: 1 }]);

    await assert.rejects(store.transaction((tx) => tx.products.insert(bigProduct('BIG'), T0)), (err) => assertUnavailable(err, /^SQLITE_FULL/));
    store.pragma('max_page_count = 1073741823');
    assert.equal(await store.transaction((tx) => tx.products.insert(bigProduct('BIG'), T0)), true);
    assert.deepEqual(committed(filename).products.map((p) => p.sku), ['BIG', 'SKU']);
  });

  it('a read-only connection refuses every transaction and the health probe with StoreUnavailableError, and recovers', async (t) => {
    const filename = freshFile();
    const store = await openStore(t, { filename });
    store.pragma('query_only = ON');

    const results = await Promise.allSettled([store.transaction(hold('a')), store.transaction(hold('b')), store.ping()]);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assertUnavailable(result.reason, /^SQLITE_READONLY/);
    }
    assert.deepEqual(committed(filename).products, [{ sku: 'SKU', on_hand: 10, reserved: 0 }]);

    store.pragma('query_only = OFF');
    await store.ping();
    assert.deepEqual(await store.transaction(hold('c')), { ok: true });
    assert.deepEqual(committed(filename).products, [{ sku: 'SKU', on_hand: 10, reserved: 1 }]);
  });

  it('another process holding the write lock makes writes and the health probe fail after the busy timeout, then they resume', async (t) => {
    const filename = freshFile();
    const store = await openStore(t, { filename, busyTimeoutMs: 50 });
    const other = new Database(filename);
    t.after(() => other.close());
    other.exec('BEGIN EXCLUSIVE');

    const started = performance.now();
    const results = await Promise.allSettled([store.transaction(hold('a')), store.ping()]);
    assert.ok(performance.now() - started >= 40, 'the store waited for the lock first');
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assertUnavailable(result.reason, /^SQLITE_BUSY/);
    }

    other.exec('COMMIT');
    await store.ping();
    assert.deepEqual(await store.transaction(hold('b')), { ok: true });
    assert.deepEqual(committed(filename).movements.map((m) => m.ref_id), [null, 'b']);
  });

  it('a COMMIT that fails rejects every caller of the batch, commits nothing, and leaves no transaction open', async (t) => {
    const filename = freshFile();
    const store = await openStore(t, { filename });

    // A real COMMIT-time failure without privileges: a foreign key checked only at COMMIT.
    // SQLite keeps the transaction open after it, so the store must roll it back itself.
    const [before, culprit, after] = await Promise.allSettled([
      store.transaction(hold('before')),
      store.transaction(async (tx) => {
        store.pragma('defer_foreign_keys = ON');
        await tx.reservations.insert(reservationOf('r-bad', 'NO-SUCH-SKU'));
        return 'body finished';
      }),
      store.transaction(hold('after')),
    ]);
    for (const result of [before, culprit, after]) {
      assert.equal(result.status, 'rejected', 'nobody is told success');
      assert.equal((result.reason as { code?: string }).code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
    }
    assert.deepEqual(committed(filename).products, [{ sku: 'SKU', on_hand: 10, reserved: 0 }]);

    // An open transaction would make the next BEGIN fail; a batch that commits proves there is none.
    assert.deepEqual(await store.transaction(hold('next')), { ok: true });
    assert.deepEqual(committed(filename).movements.map((m) => m.ref_id), [null, 'next']);
  });

  describe('on a real full disk (a tiny tmpfs)', () => {
    const mountPoint = join(dir, 'tmpfs');
    let mounted = false;
    try {
      mkdirSync(mountPoint);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint], { stdio: 'ignore' });
      mounted = true;
    } catch {
      // Needs root with CAP_SYS_ADMIN; the max_page_count test above covers the same paths.
    }
    after(() => {
      if (mounted) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    });

    it('a COMMIT that cannot write the WAL fails the whole batch with StoreUnavailableError; freeing space resumes service', async (t) => {
      if (!mounted) {
        t.skip('mount -t tmpfs is not permitted here (needs CAP_SYS_ADMIN)');
        return;
      }
      const filename = join(mountPoint, 'store.db');
      const store = await openStore(t, { filename });
      // Fill what is left of the file system, the way a runaway log would.
      const fillers = join(mountPoint, 'fillers');
      mkdirSync(fillers);
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let i = 0; ; i++) {
        try {
          writeFileSync(join(fillers, String(i)), chunk);
        } catch {
          break;
        }
      }
      // Bigger than the WAL so far, so its frames cannot fit into space the WAL already has.
      const huge = product('HUGE', 1, 'x'.repeat(statSync(`${filename}-wal`).size + 256 * 1024));

      // Nothing reaches the disk before COMMIT: that is where the full disk is met.
      const results = await Promise.allSettled([
        store.transaction(hold('a')),
        store.transaction((tx) => tx.products.insert(huge, T0)),
        store.transaction(hold('b')),
      ]);
      for (const result of results) {
        assert.equal(result.status, 'rejected', 'nobody is told success');
        assertUnavailable(result.reason, /^SQLITE_FULL/);
      }
      assert.deepEqual(committed(filename).products, [{ sku: 'SKU', on_hand: 10, reserved: 0 }]);

      rmSync(fillers, { recursive: true });
      await store.ping();
      assert.equal(await store.transaction((tx) => tx.products.insert(huge, T0)), true);
      assert.deepEqual(await store.transaction(hold('c')), { ok: true });
      assert.deepEqual(committed(filename).products, [
        { sku: 'HUGE', on_hand: 1, reserved: 0 },
        { sku: 'SKU', on_hand: 10, reserved: 1 },
      ]);
    });
  });
});
