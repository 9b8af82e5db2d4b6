import { copyFileSync, existsSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { flush } from './flush.js';

/** Why a restore did not start; nothing was changed. */
export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

/** The processes, other than this one, that hold `file` (or its -wal or -shm) open; null where that cannot be told. */
export function processesUsing(file: string): number[] | null {
  if (!existsSync('/proc/self/fd')) return null;
  const targets = new Set([file, `${file}-wal`, `${file}-shm`].map((path) => resolve(path)));
  const users = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (targets.has(target)) users.add(Number(entry));
    }
  }
  return [...users].sort((a, b) => a - b);
}

/** `PRAGMA integrity_check` of a SQLite file: 'ok', or the problems SQLite lists. */
export function integrityCheck(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('PRAGMA integrity_check').pluck().all() as string[];
  } finally {
    db.close();
  }
}

/**
 * Puts a backup in place of the database at `target`. Refuses, changing nothing, when the backup is
 * missing or damaged, or when any process has the target open (a server using it would go on
 * writing into a file that is no longer the one it opened). The replaced database's -wal and -shm
 * go with it: they belong to the old file. The backup itself is left as it was.
 */
export function restoreSqlite(backup: string, target: string, options: { force?: boolean } = {}): void {
  if (!existsSync(backup)) throw new RestoreRefused(`no backup at ${backup}`);
  if (resolve(backup) === resolve(target)) throw new RestoreRefused('the backup and the database are the same file');
  const users = processesUsing(target);
  if (users === null && !options.force) {
    throw new RestoreRefused('cannot tell whether a server is using the database on this system (no /proc); stop it and pass --force');
  }
  if (users !== null && users.length > 0) {
    throw new RestoreRefused(`the database is in use by process ${users.join(', ')}; stop the server first`);
  }
  let problems: string[];
  try {
    problems = integrityCheck(backup);
  } catch (err) {
    throw new RestoreRefused(`${backup} is not a readable SQLite database (${err instanceof Error ? err.message : String(err)})`);
  }
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw new RestoreRefused(`${backup} fails SQLite's integrity check: ${problems.slice(0, 3).join('; ')}`);
  }
  const staging = `${target}.restoring`;
  copyFileSync(backup, staging);
  flush(staging);
  rmSync(`${target}-wal`, { force: true });
  rmSync(`${target}-shm`, { force: true });
  renameSync(staging, target);
  flush(dirname(target));
}
