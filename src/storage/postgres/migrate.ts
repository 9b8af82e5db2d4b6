import type { Pool } from 'pg';
import { loadMigrations, type Migration } from '../migrations.js';

export const POSTGRES_MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
// One fixed advisory lock key: instances starting together take turns, and each migration applies once.
const MIGRATION_LOCK_KEY = 0x5708_c401;

/** Applies every numbered migration not yet recorded, under a session advisory lock. */
export async function migratePostgres(
  pool: Pool,
  migrations: Migration[] = loadMigrations(POSTGRES_MIGRATIONS_DIR),
): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((row) => row.version));
      const newlyApplied: number[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
        newlyApplied.push(migration.version);
      }
      return newlyApplied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
