import pg from 'pg';
import type { Store, StoreTx } from '../store.js';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { migratePostgres } from './migrate.js';
import { isConnectionLost, isRetryable, translatePgError } from './pg-errors.js';
import { pgTransaction } from './pg-repositories.js';

export interface PgStoreOptions {
  connectionString: string;
  poolSize?: number;
  /** Bounds every statement, so a stuck query answers 503 instead of hanging a request. */
  statementTimeoutMs?: number;
  /** Bounds waiting for a row lock held by another transaction. */
  lockTimeoutMs?: number;
  connectTimeoutMs?: number;
}

const MAX_ATTEMPTS = 5;

// BIGINT columns hold epoch milliseconds and ledger ids, all far below 2^53: read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  // Several instances may share the database: none sees every release, or knows another's requests.
  readonly capabilities = { soleWriter: false };
  private readonly pool: pg.Pool;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(options: PgStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 5_000,
      lock_timeout: options.lockTimeoutMs ?? 3_000,
      idle_in_transaction_session_timeout: 15_000,
      application_name: 'stockhold',
      types,
    });
    // An idle connection dropped by the server must not crash the process; the next use reconnects.
    this.pool.on('error', () => undefined);
    // A checked-out client whose backend is terminated emits 'error' too; without a listener that
    // would crash the process. The failed query already reports it, and the client is discarded.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** Connects and applies pending migrations (under an advisory lock, so instances may start together). */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(options);
    try {
      await migratePostgres(store.pool);
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw translatePgError(err);
    }
    return store;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('PostgreSQL store is closed'));
    const run = this.run(fn);
    this.inFlight.add(run);
    const forget = () => this.inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  private async run<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        // Whatever the reason (refused, starting up, too many clients, auth), no connection: 503.
        throw new StoreUnavailableError('PostgreSQL store unavailable: cannot connect', { cause: err });
      }
      let lost = false;
      try {
        await client.query('BEGIN');
        const result = await fn(pgTransaction(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        lost = isConnectionLost(err);
        if (!lost) await client.query('ROLLBACK').catch(() => (lost = true));
        if (!isRetryable(err) || attempt >= MAX_ATTEMPTS) throw translatePgError(err);
      } finally {
        client.release(lost);
      }
    }
  }

  async ping(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('PostgreSQL store is closed');
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw translatePgError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    await this.pool.end();
  }
}
