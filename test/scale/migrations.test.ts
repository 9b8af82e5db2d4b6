// Numbered migrations apply under an advisory lock: instances starting together take turns.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { queryDatabase, SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import { ROOT, runNode } from '../process/server-process.js';
import { Cleanups, testDatabase } from './scale-helpers.js';

const INSTANCES = 5;
const MIGRATION_FILES = readdirSync(join(ROOT, 'src/storage/postgres/migrations'))
  .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
  .sort();

describe('PostgreSQL migrations at start-up', { skip: SKIP_WITHOUT_POSTGRES, timeout: 480_000 }, () => {
  test('five instances starting at once apply the migrations exactly once', async (t) => {
    const cleanups = new Cleanups();
    t.after(() => cleanups.run());
    const db = await testDatabase(cleanups);
    assert.ok(MIGRATION_FILES.length > 0, 'there are migrations to apply');

    const env = { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'warn', NODE_ENV: 'development' };
    const runs = await Promise.all(Array.from({ length: INSTANCES }, () => runNode(cleanups, 'src/cli/migrate.ts', env)));
    for (const run of runs) {
      assert.equal(run.code, 0, `migrate exited ${run.code}\n${run.stderr}`);
      assert.match(run.stdout, /migrations are up to date/);
    }

    const rows = await queryDatabase<{ version: number; name: string }>(
      db.url,
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      rows,
      MIGRATION_FILES.map((name) => ({ version: Number(name.slice(0, 3)), name })),
      'one row per migration file',
    );
    const tables = await queryDatabase<{ table_name: string }>(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    const names = tables.map((row) => row.table_name);
    for (const table of ['products', 'reservations', 'reservation_items', 'orders', 'stock_movements', 'idempotency_keys']) {
      assert.ok(names.includes(table), `table ${table} exists`);
    }

    // A later start finds nothing to do and leaves the record alone.
    const again = await runNode(cleanups, 'src/cli/migrate.ts', env);
    assert.equal(again.code, 0, again.stderr);
    const after = await queryDatabase<{ n: number }>(db.url, 'SELECT COUNT(*)::int AS n FROM schema_migrations');
    assert.equal(after[0]?.n, MIGRATION_FILES.length);
  });
});
