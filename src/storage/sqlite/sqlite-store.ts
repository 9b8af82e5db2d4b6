import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Demand, NewProduct, NewStockMovement, Order, Reservation } from '../../domain/types.js';
import type {
  DueScope,
  HoldResult,
  IdempotencyRecord,
  StockCorrection,
  Store,
  StoreTx,
  UserStanding,
  WriteQueue,
} from '../store.js';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { migrateSqlite } from './migrate.js';
import {
  toBalance,
  toIdempotencyRecord,
  toItem,
  toMovement,
  toOrder,
  toProduct,
  toReservation,
  type BalanceRow,
  type IdempotencyRow,
  type ItemRow,
  type MovementRow,
  type OrderRow,
  type ProductRow,
  type ReservationRow,
} from '../rows.js';

export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  filename: string;
  synchronous?: SqliteSynchronous;
  /** How long a write waits for another process's lock before answering 503. Default 1000. */
  busyTimeoutMs?: number;
}

/**
 * better-sqlite3 waits for a lock synchronously, so the whole process stalls for up to this long
 * per batch while another process holds the write lock. Only other processes can (this one has a
 * single connection), and their writes (a seed, a repair, a backup) are short: one second rides
 * those out without freezing the server for long when the lock is held for good.
 */
const DEFAULT_BUSY_TIMEOUT_MS = 1_000;

// Errors that say the store, not the request, is at fault: answer 503 and let the client retry.
// better-sqlite3 reports extended codes, so each primary code also matches with its suffix
// (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE, SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE...).
const UNAVAILABLE_CODES = /^SQLITE_(?:BUSY|LOCKED|FULL|READONLY|IOERR|CANTOPEN|NOMEM|CORRUPT|NOTADB|PROTOCOL)(?:_[A-Z0-9_]+)?$/;

/** Exported for its tests: which SQLite errors mean "the store, not the request". */
export function translateError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.test(code)) {
    return new StoreUnavailableError(`SQLite store unavailable (${code})`, { cause: err });
  }
  if (err instanceof TypeError && /database connection is not open/.test(err.message)) {
    return new StoreUnavailableError('SQLite store is closed', { cause: err });
  }
  return err;
}

interface QueuedTransaction {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

type Outcome = { job: QueuedTransaction; ok: true; value: unknown } | { job: QueuedTransaction; ok: false; error: unknown };

/** Most ledger rows `liveHoldersOfSku` reads before giving up on a list: a few milliseconds. */
const HOLDER_SCAN_LIMIT = 20_000;

/** Upper bound on transactions sharing one commit, so one batch never holds the loop for long. */
const MAX_BATCH = 512;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  // One process per database file: WORKERS needs PostgreSQL.
  readonly capabilities = { soleWriter: true };
  readonly writeQueue: WriteQueue = {
    // `draining` is set from the first queued transaction until the queue has been drained.
    idle: () => !this.closed && this.draining === null,
    queued: () => this.queued,
    discards: () => this.discarded,
  };
  private readonly db: Database.Database;
  private readonly tx: SqliteTx;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly rollbackToSavepoint: Database.Statement;
  private readonly releaseSavepoint: Database.Statement;
  // Group commit. One connection, so transactions never interleave: they queue in arrival
  // order, and everything queued by the time the connection is free runs in one BEGIN...COMMIT,
  // each in its own SAVEPOINT so a failure rolls back alone. One fsync then makes a whole batch
  // durable, and no caller hears back before the COMMIT that holds its writes.
  private readonly queue: QueuedTransaction[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private queued = 0;
  private discarded = 0;

  constructor(options: SqliteStoreOptions) {
    const inMemory = options.filename === ':memory:';
    if (!inMemory) mkdirSync(dirname(options.filename), { recursive: true });
    try {
      this.db = new Database(options.filename);
    } catch (err) {
      throw translateError(err);
    }
    try {
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
      if (!inMemory) this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      this.db.pragma('foreign_keys = ON');
      migrateSqlite(this.db);
    } catch (err) {
      this.db.close();
      throw translateError(err);
    }
    this.begin = this.db.prepare('BEGIN IMMEDIATE');
    this.commit = this.db.prepare('COMMIT');
    this.rollback = this.db.prepare('ROLLBACK');
    this.savepoint = this.db.prepare('SAVEPOINT tx');
    this.rollbackToSavepoint = this.db.prepare('ROLLBACK TO tx');
    this.releaseSavepoint = this.db.prepare('RELEASE tx');
    this.tx = new SqliteTx(this.db);
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('SQLite store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.queued++;
      // Drain once the current I/O phase has queued everything it will: that is the batch.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.runBatch(batch);
        } catch (err) {
          // runBatch settles every job itself. Should it ever throw, its callers must still hear
          // back, and the rejection must not escape: nothing awaits the drain, so it would crash
          // the process as an unhandled rejection.
          this.discard(batch, err);
        }
      }
    } finally {
      this.draining = null;
    }
  }

  private async runBatch(batch: QueuedTransaction[]): Promise<void> {
    try {
      // A ROLLBACK that itself failed (an I/O error) leaves the transaction open, and BEGIN would
      // then fail for every batch from here on: the store would never recover.
      if (this.db.inTransaction) this.rollback.run();
      this.begin.run();
    } catch (err) {
      for (const job of batch) job.reject(translateError(err));
      return;
    }
    const outcomes: Outcome[] = [];
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i] as QueuedTransaction;
      try {
        this.savepoint.run();
        const value = await job.fn(this.tx);
        this.releaseSavepoint.run();
        outcomes.push({ job, ok: true, value });
      } catch (error) {
        try {
          // SQLite abandons the whole transaction on some faults (disk full, I/O error), taking
          // the earlier savepoints with it: nothing in this batch can commit any more.
          if (!this.db.open || !this.db.inTransaction) throw error;
          this.rollbackToSavepoint.run();
          this.releaseSavepoint.run();
        } catch (fault) {
          this.discard([...outcomes.map((outcome) => outcome.job), job], fault);
          // Those not run yet lost nothing: they go first in the next batch.
          this.queue.unshift(...batch.slice(i + 1));
          return;
        }
        outcomes.push({ job, ok: false, error: translateError(error) });
      }
    }
    try {
      this.commit.run();
    } catch (err) {
      // A failed COMMIT (a full disk shows up here, when the WAL is written) loses the whole
      // batch: every caller hears so, including those whose own part went well.
      this.discard(outcomes.map((outcome) => outcome.job), err);
      return;
    }
    for (const outcome of outcomes) {
      if (outcome.ok) outcome.job.resolve(outcome.value);
      else outcome.job.reject(outcome.error);
    }
  }

  /** Ends the batch with nothing committed: rolls back what is open, then rejects every job. */
  private discard(jobs: readonly QueuedTransaction[], err: unknown): void {
    // Before any caller hears back, so no in-memory hint from the discarded bodies is trusted.
    this.discarded++;
    try {
      if (this.db.open && this.db.inTransaction) this.rollback.run();
    } catch {
      // Still open: the next batch rolls it back before its BEGIN.
    }
    const error = translateError(err);
    for (const job of jobs) job.reject(error);
  }

  /**
   * A write probe that writes nothing: an empty transaction in the next batch. It resolves only
   * when the connection is open, the write lock can be taken within the busy timeout, the
   * database is writable (not read-only) and that batch commits. A full disk is not seen until
   * something is written: the writes that hit it answer 503 themselves.
   */
  ping(): Promise<void> {
    return this.transaction(async () => undefined);
  }

  /**
   * Runs a PRAGMA on the store's own connection and returns its first value. For operations and
   * fault tests: per-connection settings (query_only, max_page_count) can only be changed here.
   */
  pragma(source: string): unknown {
    if (this.closed || !this.db.open) throw new StoreUnavailableError('SQLite store is closed');
    try {
      return this.db.pragma(source, { simple: true });
    } catch (err) {
      throw translateError(err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await this.draining;
    if (this.db.open) this.db.close();
  }
}

/** Statement-per-operation implementation of the port; all of stockhold's SQLite SQL is here. */
class SqliteTx implements StoreTx {
  private readonly s;

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertProduct: p(`INSERT INTO products (sku, product_name, price_minor, on_hand, reserved, sold, max_per_user, created_at, updated_at)
        VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?) ON CONFLICT (sku) DO NOTHING`),
      updateProductDetails: p(`UPDATE products SET product_name = ?, price_minor = ?, updated_at = ?
        WHERE sku = ? AND (product_name <> ? OR price_minor <> ?)`),
      getProduct: p('SELECT * FROM products WHERE sku = ?'),
      getProducts: p('SELECT * FROM products WHERE sku IN (SELECT value FROM json_each(?)) ORDER BY sku'),
      listProducts: p('SELECT * FROM products WHERE sku > ? ORDER BY sku LIMIT ?'),
      countProducts: p('SELECT COUNT(*) FROM products').pluck(),
      hold: p(`UPDATE products SET reserved = reserved + ?, updated_at = ?
        WHERE sku = ? AND on_hand - reserved >= ?`),
      available: p('SELECT on_hand - reserved FROM products WHERE sku = ?').pluck(),
      move: p(`UPDATE products SET on_hand = on_hand + ?, reserved = reserved + ?, sold = sold + ?, updated_at = ?
        WHERE sku = ?`),
      insertMovement: p(`INSERT INTO stock_movements (sku, delta_on_hand, delta_reserved, delta_sold, reason, ref_id, at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      listMovements: p('SELECT * FROM stock_movements WHERE sku = ? AND id < ? ORDER BY id DESC LIMIT ?'),
      // Set-based: each history is grouped once, then joined to the products; no per-sku lookups.
      productBalances: p(`WITH ledger AS (
          SELECT sku, SUM(delta_on_hand) AS on_hand, SUM(delta_reserved) AS reserved, SUM(delta_sold) AS sold,
            SUM(CASE WHEN reason IN ('RECEIVE', 'ADJUST') THEN delta_on_hand + delta_sold ELSE 0 END) AS received
          FROM stock_movements GROUP BY sku),
        live AS (
          SELECT i.sku, SUM(i.quantity) AS reserved
          FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
          WHERE r.status = 'RESERVED' GROUP BY i.sku),
        ordered AS (
          SELECT oi.sku, SUM(oi.quantity) AS sold
          FROM orders o JOIN order_items oi ON oi.order_id = o.id
          WHERE o.status IN ('CONFIRMED', 'COMPLETED') GROUP BY oi.sku)
        SELECT p.sku, p.on_hand, p.reserved, p.sold,
          COALESCE(l.on_hand, 0) AS ledger_on_hand, COALESCE(l.reserved, 0) AS ledger_reserved,
          COALESCE(l.sold, 0) AS ledger_sold, COALESCE(l.received, 0) AS received,
          COALESCE(v.reserved, 0) AS live_reserved, COALESCE(o.sold, 0) AS ordered_sold
        FROM products p
          LEFT JOIN ledger l ON l.sku = p.sku
          LEFT JOIN live v ON v.sku = p.sku
          LEFT JOIN ordered o ON o.sku = p.sku
        ORDER BY p.sku`),
      setCounters: p('UPDATE products SET on_hand = ?, reserved = ?, sold = ?, updated_at = ? WHERE sku = ?'),
      insertReservation: p(`INSERT INTO reservations (id, user_id, status, expires_at, created_at, updated_at, confirmed_at, cancelled_at, expired_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertReservationItem: p(`INSERT INTO reservation_items (reservation_id, sku, quantity, unit_price_minor) VALUES (?, ?, ?, ?)`),
      getReservation: p('SELECT * FROM reservations WHERE id = ?'),
      reservationItems: p('SELECT sku, quantity, unit_price_minor FROM reservation_items WHERE reservation_id = ? ORDER BY sku'),
      liveReservations: p(`SELECT * FROM reservations WHERE user_id = ? AND status = 'RESERVED' ORDER BY created_at, id`),
      dueAll: p(`SELECT id FROM reservations WHERE status = 'RESERVED' AND expires_at <= ? ORDER BY expires_at LIMIT ?`).pluck(),
      dueForSku: p(`SELECT r.id FROM reservations r WHERE r.status = 'RESERVED' AND r.expires_at <= ?
        AND EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id AND i.sku = ?)
        ORDER BY r.expires_at LIMIT ?`).pluck(),
      earliestLiveExpiry: p(`SELECT MIN(expires_at) FROM reservations WHERE status = 'RESERVED'`).pluck(),
      reservedOf: p('SELECT reserved FROM products WHERE sku = ?').pluck(),
      // The sku's holds, newest first, from its ledger (the by-sku index) rather than a walk over
      // every live reservation of every sku.
      holdsNewestFirst: p(`SELECT r.user_id AS userId, r.status, m.delta_reserved AS quantity
        FROM stock_movements m JOIN reservations r ON r.id = m.ref_id
        WHERE m.sku = ? AND m.reason = 'RESERVE' ORDER BY m.id DESC`),
      moveReservation: p(`UPDATE reservations SET status = @to, updated_at = @at,
        confirmed_at = CASE WHEN @to = 'CONFIRMED' THEN @at ELSE confirmed_at END,
        cancelled_at = CASE WHEN @to = 'CANCELLED' THEN @at ELSE cancelled_at END,
        expired_at = CASE WHEN @to = 'EXPIRED' THEN @at ELSE expired_at END
        WHERE id = @id AND status = @from`),
      userStandings: p(`SELECT u.value AS userId,
        (SELECT COUNT(*) FROM reservations r WHERE r.user_id = u.value AND r.status = 'RESERVED') AS liveReservations,
        (SELECT COUNT(*) FROM reservations r WHERE r.user_id = u.value AND r.status = 'RESERVED'
          AND EXISTS (SELECT 1 FROM reservation_items i WHERE i.reservation_id = r.id AND i.sku = @sku)) AS liveHoldingSku,
        (SELECT COUNT(*) FROM reservations r WHERE r.user_id = u.value AND r.status = 'RESERVED'
          AND r.expires_at <= @now) AS dueReservations,
        (SELECT COALESCE(SUM(oi.quantity), 0) FROM orders o JOIN order_items oi ON oi.order_id = o.id
          WHERE o.user_id = u.value AND o.status IN ('CONFIRMED', 'COMPLETED') AND oi.sku = @sku) AS orderedUnits
        FROM (SELECT DISTINCT value FROM json_each(@users)) AS u`),
      unitsHeldByUser: p(`SELECT
        (SELECT COALESCE(SUM(i.quantity), 0) FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
          WHERE r.user_id = @user AND r.status = 'RESERVED' AND i.sku = @sku)
        + (SELECT COALESCE(SUM(oi.quantity), 0) FROM orders o JOIN order_items oi ON oi.order_id = o.id
          WHERE o.user_id = @user AND o.status IN ('CONFIRMED', 'COMPLETED') AND oi.sku = @sku)`).pluck(),
      insertOrder: p(`INSERT INTO orders (id, user_id, reservation_id, total_minor, status, payment_status, created_at, updated_at, cancelled_at, completed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertOrderItem: p('INSERT INTO order_items (order_id, sku, quantity, unit_price_minor) VALUES (?, ?, ?, ?)'),
      getOrder: p('SELECT * FROM orders WHERE id = ?'),
      getOrderByReservation: p('SELECT * FROM orders WHERE reservation_id = ?'),
      orderItems: p('SELECT sku, quantity, unit_price_minor FROM order_items WHERE order_id = ? ORDER BY sku'),
      moveOrder: p(`UPDATE orders SET status = @to, payment_status = @payment, updated_at = @at,
        cancelled_at = CASE WHEN @to = 'CANCELLED' THEN @at ELSE cancelled_at END,
        completed_at = CASE WHEN @to = 'COMPLETED' THEN @at ELSE completed_at END
        WHERE id = @id AND status = @from`),
      getIdempotency: p('SELECT * FROM idempotency_keys WHERE principal = ? AND key = ?'),
      claimIdempotency: p(`INSERT INTO idempotency_keys
        (principal, key, method, path, request_hash, status_code, response_body, created_at, expires_at, locked_until)
        VALUES (@principal, @key, @method, @path, @requestHash, @statusCode, @responseBody, @createdAt, @expiresAt, @lockedUntil)
        ON CONFLICT (principal, key) DO UPDATE SET
          method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
          status_code = excluded.status_code, response_body = excluded.response_body, created_at = excluded.created_at,
          expires_at = excluded.expires_at, locked_until = excluded.locked_until
        WHERE idempotency_keys.expires_at <= @now
          OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= @now)`),
      completeIdempotency: p('UPDATE idempotency_keys SET status_code = ?, response_body = ? WHERE principal = ? AND key = ?'),
      deleteIdempotency: p('DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND status_code IS NULL'),
      releasePendingIdempotency: p('DELETE FROM idempotency_keys WHERE status_code IS NULL'),
      pruneIdempotency: p(`DELETE FROM idempotency_keys WHERE rowid IN
        (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`),
    };
  }

  async insertProduct(product: NewProduct, at: number): Promise<boolean> {
    const { changes } = this.s.insertProduct.run(
      product.sku, product.productName, product.priceMinor, product.onHand, product.maxPerUser, at, at,
    );
    if (changes === 0) return false;
    if (product.onHand > 0) {
      this.insertMovement({
        sku: product.sku, deltaOnHand: product.onHand, deltaReserved: 0, deltaSold: 0, reason: 'RECEIVE', refId: null, at,
      });
    }
    return true;
  }

  async updateProductDetails(sku: string, productName: string, priceMinor: number, at: number): Promise<void> {
    this.s.updateProductDetails.run(productName, priceMinor, at, sku, productName, priceMinor);
  }

  // One connection serialises every transaction already.
  async lockUser(_userId: string): Promise<void> {}

  async getProduct(sku: string) {
    const row = this.s.getProduct.get(sku) as ProductRow | undefined;
    return row ? toProduct(row) : null;
  }

  async getProducts(skus: readonly string[]) {
    // Most reserves name one sku: a primary-key lookup beats unpacking a JSON array.
    if (skus.length === 1) {
      const row = this.s.getProduct.get(skus[0]) as ProductRow | undefined;
      return row ? [toProduct(row)] : [];
    }
    return (this.s.getProducts.all(JSON.stringify(skus)) as ProductRow[]).map(toProduct);
  }

  async listProducts(afterSku: string | null, limit: number) {
    return (this.s.listProducts.all(afterSku ?? '', limit) as ProductRow[]).map(toProduct);
  }

  async countProducts() {
    return this.s.countProducts.get() as number;
  }

  // One connection serialises every transaction already.
  async lockUsers(_userIds: readonly string[]): Promise<void> {}

  async userStandings(userIds: readonly string[], sku: string, now: number): Promise<UserStanding[]> {
    if (userIds.length === 0) return [];
    return this.s.userStandings.all({ sku, now, users: JSON.stringify(userIds) }) as UserStanding[];
  }

  async holdBatch(sku: string, reservations: readonly Reservation[], at: number): Promise<boolean> {
    let total = 0;
    for (const r of reservations) {
      const [line, ...more] = r.items;
      if (!line || more.length > 0 || line.sku !== sku || r.status !== 'RESERVED') {
        throw new Error(`holdBatch takes RESERVED one-line reservations of ${sku}`);
      }
      total += line.quantity;
    }
    if (reservations.length === 0) return true;
    if (this.s.hold.run(total, at, sku, total).changes === 0) return false;
    for (const r of reservations) {
      await this.insertReservation(r);
      const { quantity } = r.items[0] as Reservation['items'][number];
      this.insertMovement({ sku, deltaOnHand: 0, deltaReserved: quantity, deltaSold: 0, reason: 'RESERVE', refId: r.id, at });
    }
    return true;
  }

  async holdStock(demand: readonly Demand[], refId: string, at: number): Promise<HoldResult> {
    for (const { sku, quantity } of demand) {
      if (this.s.hold.run(quantity, at, sku, quantity).changes === 0) {
        const available = (this.s.available.get(sku) as number | undefined) ?? 0;
        return { ok: false, sku, available };
      }
      this.insertMovement({ sku, deltaOnHand: 0, deltaReserved: quantity, deltaSold: 0, reason: 'RESERVE', refId, at });
    }
    return { ok: true };
  }

  async moveStock(movements: readonly NewStockMovement[]): Promise<void> {
    for (const m of movements) {
      this.s.move.run(m.deltaOnHand, m.deltaReserved, m.deltaSold, m.at, m.sku);
      this.insertMovement(m);
    }
  }

  private insertMovement(m: NewStockMovement): void {
    this.s.insertMovement.run(m.sku, m.deltaOnHand, m.deltaReserved, m.deltaSold, m.reason, m.refId, m.at);
  }

  async listMovements(sku: string, beforeId: number | null, limit: number) {
    return (this.s.listMovements.all(sku, beforeId ?? Number.MAX_SAFE_INTEGER, limit) as MovementRow[]).map(toMovement);
  }

  // Transactions never overlap on the one connection, so the read is already a frozen picture.
  async productBalances(_options?: { lock?: boolean }) {
    return (this.s.productBalances.all() as BalanceRow[]).map(toBalance);
  }

  async correctStock(corrections: readonly StockCorrection[], refId: string, at: number): Promise<void> {
    for (const c of corrections) {
      this.s.setCounters.run(c.onHand, c.reserved, c.sold, at, c.sku);
      if (c.adjustment) this.insertMovement({ sku: c.sku, ...c.adjustment, reason: 'ADJUST', refId, at });
    }
  }

  async insertReservation(r: Reservation): Promise<void> {
    this.s.insertReservation.run(
      r.id, r.userId, r.status, r.expiresAt, r.createdAt, r.updatedAt, r.confirmedAt, r.cancelledAt, r.expiredAt,
    );
    for (const item of r.items) this.s.insertReservationItem.run(r.id, item.sku, item.quantity, item.unitPriceMinor);
  }

  async getReservation(id: string) {
    const row = this.s.getReservation.get(id) as ReservationRow | undefined;
    return row ? this.withReservationItems(row) : null;
  }

  private withReservationItems(row: ReservationRow): Reservation {
    return toReservation(row, (this.s.reservationItems.all(row.id) as ItemRow[]).map(toItem));
  }

  async listLiveReservations(userId: string) {
    const rows = this.s.liveReservations.all(userId) as ReservationRow[];
    return rows.map((row) => this.withReservationItems(row));
  }

  async findDueReservationIds(now: number, limit: number, scope?: DueScope) {
    if (scope) return this.s.dueForSku.all(now, scope.sku, limit) as string[];
    return this.s.dueAll.all(now, limit) as string[];
  }

  async earliestLiveExpiry() {
    return (this.s.earliestLiveExpiry.get() as number | null | undefined) ?? null;
  }

  async liveHoldersOfSku(sku: string, limit: number): Promise<string[] | null> {
    // The product's reserved counter is the sum of its live holds, each written to the ledger as a
    // RESERVE row: walking those newest first finds every live hold once the units add up, and
    // live holds are the recent ones. A counter the ledger does not explain (a repair) ends the
    // walk at the scan limit with no list.
    const reserved = (this.s.reservedOf.get(sku) as number | undefined) ?? 0;
    const users = new Set<string>();
    let units = 0;
    let holds = 0;
    let scanned = 0;
    if (reserved <= 0) return [];
    for (const row of this.s.holdsNewestFirst.iterate(sku) as IterableIterator<{ userId: string; status: string; quantity: number }>) {
      if (++scanned > HOLDER_SCAN_LIMIT) return null;
      if (row.status !== 'RESERVED') continue;
      if (++holds > limit) return null;
      users.add(row.userId);
      units += row.quantity;
      if (units >= reserved) return [...users];
    }
    return null;
  }

  async moveReservation(id: string, from: Reservation['status'], to: Reservation['status'], at: number) {
    return this.s.moveReservation.run({ id, from, to, at }).changes === 1;
  }

  async unitsHeldByUser(userId: string, sku: string) {
    return this.s.unitsHeldByUser.get({ user: userId, sku }) as number;
  }

  async insertOrder(o: Order): Promise<void> {
    this.s.insertOrder.run(
      o.id, o.userId, o.reservationId, o.totalMinor, o.status, o.paymentStatus, o.createdAt, o.updatedAt, o.cancelledAt, o.completedAt,
    );
    for (const item of o.items) this.s.insertOrderItem.run(o.id, item.sku, item.quantity, item.unitPriceMinor);
  }

  async getOrder(id: string) {
    return this.withOrderItems(this.s.getOrder.get(id) as OrderRow | undefined);
  }

  async getOrderByReservation(reservationId: string) {
    return this.withOrderItems(this.s.getOrderByReservation.get(reservationId) as OrderRow | undefined);
  }

  private withOrderItems(row: OrderRow | undefined): Order | null {
    return row ? toOrder(row, (this.s.orderItems.all(row.id) as ItemRow[]).map(toItem)) : null;
  }

  async moveOrder(id: string, from: Order['status'], to: Order['status'], payment: Order['paymentStatus'], at: number) {
    return this.s.moveOrder.run({ id, from, to, payment, at }).changes === 1;
  }

  async getIdempotencyRecord(principal: string, key: string) {
    const row = this.s.getIdempotency.get(principal, key) as IdempotencyRow | undefined;
    return row ? toIdempotencyRecord(row) : null;
  }

  async claimIdempotencyRecord(r: IdempotencyRecord, now: number): Promise<boolean> {
    return this.s.claimIdempotency.run({ ...r, now }).changes === 1;
  }

  async completeIdempotencyRecord(principal: string, key: string, statusCode: number, responseBody: string) {
    this.s.completeIdempotency.run(statusCode, responseBody, principal, key);
  }

  async deleteIdempotencyRecord(principal: string, key: string) {
    this.s.deleteIdempotency.run(principal, key);
  }

  async releasePendingIdempotencyRecords() {
    return this.s.releasePendingIdempotency.run().changes;
  }

  async pruneIdempotencyRecords(now: number, limit: number) {
    return this.s.pruneIdempotency.run(now, limit).changes;
  }
}
