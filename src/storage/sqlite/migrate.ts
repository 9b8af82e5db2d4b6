import type { Database } from 'better-sqlite3';
import { loadMigrations, type Migration } from '../migrations.js';

export const SQLITE_MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/** Applies, in order, every numbered migration not yet recorded; each in its own transaction. */
export function migrateSqlite(db: Database, migrations: Migration[] = loadMigrations(SQLITE_MIGRATIONS_DIR)): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const newlyApplied: number[] = [];
  for (const migration of migrations) {
    // Checked under the write lock, so a second process opening the same file never applies one twice.
    const applied = db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return false;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      return true;
    }).immediate();
    if (applied) newlyApplied.push(migration.version);
  }
  return newlyApplied;
}
