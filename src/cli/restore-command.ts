import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { DomainEvents } from '../domain/events.js';
import { formatDrift, ReconciliationService } from '../services/reconciliation.service.js';
import { readLastLedgerId } from '../storage/sqlite/backup.js';
import { restoreSqlite, RestoreRefused } from '../storage/sqlite/restore.js';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import { CommandError } from './backup-command.js';

export const RESTORE_USAGE = `usage: stockhold restore <backup-file> [--force]
  Replaces the SQLite database DATABASE_URL names with <backup-file>, runs the migrations, then
  checks that the restored books balance (the check of \`stockhold verify\`). Refuses while any
  process has the database open (stop the server first). --force: restore where that cannot be
  checked (no /proc). Reservations that fell due meanwhile expire when the server next starts.
  Exits 0 when the restored books balance, 1 when they drift, 2 when nothing was restored.`;

/** `stockhold restore <backup-file>`. */
export async function restoreCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${RESTORE_USAGE}\n`);
    return 0;
  }
  const force = argv.includes('--force');
  const files = argv.filter((arg) => arg !== '--force');
  const [file, ...rest] = files;
  if (file === undefined || rest.length > 0 || file.startsWith('-')) throw new CommandError(`expected one backup file\n${RESTORE_USAGE}`);
  const config = loadConfig(env);
  const { database } = config;
  if (database.kind !== 'sqlite' || database.filename === ':memory:') {
    throw new CommandError('DATABASE_URL must name a SQLite file; PostgreSQL is restored with pg_restore or point-in-time recovery (see docs/OPERATIONS.md)');
  }
  const backup = resolve(file);
  mkdirSync(dirname(database.filename), { recursive: true });
  const replacing = existsSync(database.filename);
  try {
    restoreSqlite(backup, database.filename, { force });
  } catch (err) {
    if (err instanceof RestoreRefused) throw new CommandError(err.message);
    throw err;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`restore: ${backup} is now ${database.filename}${replacing ? ' (the previous file was replaced)' : ''}; last ledger id ${readLastLedgerId(database.filename)}`);
  // Opening the store runs the migrations, so a backup taken by an older version is brought up to date.
  const store = new SqliteStore({ filename: database.filename, synchronous: config.sqliteSynchronous });
  try {
    const report = await new ReconciliationService({ store, clock: systemClock, events: new DomainEvents() }).check();
    for (const drift of report.drifts) out(`drift: ${formatDrift(drift)}`);
    if (report.drifts.length > 0) {
      out(`restore: the restored books do NOT balance: ${report.driftedSkus} of ${report.skusChecked} skus drifted (see STARTUP_CHECK=repair in the README)`);
      return 1;
    }
    out(`restore: migrations applied; the restored books balance (${report.skusChecked} skus checked, 0 drifted)`);
    return 0;
  } finally {
    await store.close();
  }
}
