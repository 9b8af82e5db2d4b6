import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { backupSqlite, type BackupReport } from '../storage/sqlite/backup.js';

export const BACKUP_USAGE = `usage: stockhold backup <file>
  Copies the SQLite database DATABASE_URL names into <file> while the server keeps serving
  (SQLite's online backup API), then prints the copy's size, its last ledger id and when it was
  taken. <file> must not exist yet. PostgreSQL is backed up with its own tools (docs/OPERATIONS.md).
  Exits 0 on success, 2 when the backup cannot be taken.`;

/** Exit status 2: nothing was backed up; the message says why. */
export class CommandError extends Error {}

export function describeBackup(report: BackupReport): string {
  const mib = (report.bytes / 1024 / 1024).toFixed(1);
  return `${report.file}: ${mib} MiB (${report.bytes} bytes), last ledger id ${report.lastLedgerId}, taken ${new Date(report.takenAt).toISOString()} in ${report.durationMs} ms`;
}

/** `stockhold backup <file>`. */
export async function backupCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  const [file, ...rest] = argv;
  if (file === undefined || rest.length > 0 || file.startsWith('-')) throw new CommandError(`expected one file name\n${BACKUP_USAGE}`);
  const config = loadConfig(env);
  const { database } = config;
  if (database.kind !== 'sqlite') {
    throw new CommandError('DATABASE_URL names PostgreSQL: back it up with pg_basebackup or pg_dump (see docs/OPERATIONS.md)');
  }
  if (database.filename === ':memory:') throw new CommandError('DATABASE_URL names an in-memory database: nothing to back up');
  if (!existsSync(database.filename)) throw new CommandError(`no database at ${database.filename} (DATABASE_URL)`);
  const destination = resolve(file);
  if (existsSync(destination)) throw new CommandError(`${destination} already exists; choose a new file name`);
  mkdirSync(dirname(destination), { recursive: true });
  const report = await backupSqlite(database.filename, destination);
  process.stdout.write(`backup: ${describeBackup(report)}\n`);
  return 0;
}
