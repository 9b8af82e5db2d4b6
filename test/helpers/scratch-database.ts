import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { createTestSchema } from './postgres.js';
import { TEST_STORE } from './test-app.js';

/**
 * A database of the store under test (TEST_STORE) that outlives the stores opened on it, and
 * that tests may write to behind the services' back, to make drift on purpose: a temp SQLite
 * file (an in-memory one cannot be reached from outside its store), or a PostgreSQL schema.
 */
export interface ScratchDatabase {
  readonly kind: 'sqlite' | 'postgres';
  /** DATABASE_URL naming it, for loadConfig and child processes. */
  readonly databaseUrl: string;
  /** A store on it, migrated; whoever opens one closes it (an app closes its own). */
  open(): Promise<Store>;
  /**
   * Runs SQL (several statements allowed) on a connection of its own, outside every store.
   * `unchecked` lets it write what the products' CHECK constraints forbid: on SQLite for this
   * connection only, on PostgreSQL by dropping them from this schema.
   */
  exec(sql: string, options?: { unchecked?: boolean }): Promise<void>;
  /** A read of its own, without parameters (the dialects spell them differently). */
  query<R>(sql: string): Promise<R[]>;
  /** Removes the file or schema. Stores on it must be closed first. */
  drop(): Promise<void>;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  return TEST_STORE === 'postgres' ? scratchPostgres() : scratchSqlite();
}

function scratchSqlite(): ScratchDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-scratch-'));
  const filename = join(dir, 'stockhold.db');
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(filename);
    try {
      db.pragma('busy_timeout = 5000');
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    kind: 'sqlite',
    databaseUrl: `sqlite:${filename}`,
    open: async () => new SqliteStore({ filename }),
    exec: async (sql, options) =>
      withDb((db) => {
        if (options?.unchecked) db.pragma('ignore_check_constraints = ON');
        db.exec(sql);
      }),
    query: async <R>(sql: string) => withDb((db) => db.prepare(sql).all() as R[]),
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function scratchPostgres(): Promise<ScratchDatabase> {
  const { url, drop } = await createTestSchema();
  const withClient = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    kind: 'postgres',
    databaseUrl: url,
    open: () => PgStore.open({ connectionString: url, poolSize: 3 }),
    exec: (sql, options) =>
      withClient(async (client) => {
        if (options?.unchecked) {
          await client.query(`DO $$ DECLARE c text; BEGIN
            FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'products'::regclass AND contype = 'c' LOOP
              EXECUTE format('ALTER TABLE products DROP CONSTRAINT %I', c);
            END LOOP; END $$`);
        }
        await client.query(sql);
      }),
    query: <R>(sql: string) => withClient(async (client) => (await client.query(sql)).rows as R[]),
    drop,
  };
}
