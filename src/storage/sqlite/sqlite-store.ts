import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Store, StoreTx, WriteQueue } from '../store.js';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { backupSqlite, type BackupReport } from './backup.js';
import { migrateSqlite } from './migrate.js';
import { prepareSqliteQueries } from './queries.js';
import { sqliteTransaction } from './sqlite-repositories.js';
import { SqliteWriteQueue } from './write-queue.js';

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

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  // One process per database file: WORKERS needs PostgreSQL.
  readonly capabilities = { soleWriter: true };
  private readonly db: Database.Database;
  private readonly queue: SqliteWriteQueue;
  private closed = false;

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
    this.queue = new SqliteWriteQueue(this.db, sqliteTransaction(prepareSqliteQueries(this.db)), translateError);
  }

  get writeQueue(): WriteQueue {
    return this.queue;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.queue.transaction(fn);
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

  /**
   * An online backup from this connection, in small steps between transactions: this
   * connection's own commits are copied as they happen, so the copy never restarts.
   */
  backup(destination: string): Promise<BackupReport> {
    if (this.closed || !this.db.open) return Promise.reject(new StoreUnavailableError('SQLite store is closed'));
    return backupSqlite(this.db, destination);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.close();
    if (this.db.open) this.db.close();
  }
}
