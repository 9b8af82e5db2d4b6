import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { loadMigrations } from './migrations.js';
import { POSTGRES_MIGRATIONS_DIR } from './postgres/migrate.js';
import { SQLITE_MIGRATIONS_DIR } from './sqlite/migrate.js';

export interface SchemaStatus {
  /** The highest migration applied (0: none). */
  applied: number;
  /** The highest migration this version of stockhold ships. */
  latest: number;
  /** The database server's clock (PostgreSQL only), to compare with this machine's. */
  serverNowMs?: number;
}

const latestOf = (dir: URL): number => Math.max(0, ...loadMigrations(dir).map((m) => m.version));

/** Reads the schema version without migrating or creating anything (for `stockhold doctor`). */
export async function readSchemaStatus(database: DatabaseConfig): Promise<SchemaStatus> {
  if (database.kind === 'sqlite') {
    if (database.filename === ':memory:') throw new Error('an in-memory database has no schema until a server opens it');
    if (!existsSync(database.filename)) throw new Error(`no database at ${database.filename}`);
    const db = new Database(database.filename, { readonly: true, fileMustExist: true });
    try {
      const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
      const applied = hasTable ? (db.prepare('SELECT COALESCE(MAX(version), 0) FROM schema_migrations').pluck().get() as number) : 0;
      return { applied, latest: latestOf(SQLITE_MIGRATIONS_DIR) };
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: database.url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ present: boolean; now_ms: string }>(
      `SELECT to_regclass('schema_migrations') IS NOT NULL AS present, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint AS now_ms`,
    );
    const present = rows[0]?.present === true;
    const applied = present
      ? Number((await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0)
      : 0;
    return { applied, latest: latestOf(POSTGRES_MIGRATIONS_DIR), serverNowMs: Number(rows[0]?.now_ms) };
  } finally {
    await client.end();
  }
}
