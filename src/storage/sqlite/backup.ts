import { renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { OnlineBackup } from '../store.js';
import { flush } from './flush.js';

/** What a finished backup holds (the port's OnlineBackup). */
export type BackupReport = OnlineBackup;

/** Pages copied per step when backing up from a serving connection: a few ms of work between requests. */
const SERVING_STEP_PAGES = 256;
/** All remaining pages in one step: the copy is one read transaction, so writes elsewhere cannot restart it. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies a SQLite database with SQLite's online backup API while it keeps serving.
 *
 * `source` is either an open connection or a file path:
 * - The serving process passes its own connection. Its writes during the copy are applied to the
 *   copy as they happen, so it can copy in small steps and keep answering requests in between.
 * - Another process (`stockhold backup`) opens a read-only connection of its own and copies every
 *   page in one step: one read transaction, one consistent moment, and in WAL mode the server's
 *   writes go on meanwhile. (Copied in small steps, each of the server's commits would restart it.)
 *
 * The copy is written next to `destination` and renamed into place once complete and flushed, so
 * a crash mid-copy never leaves a partial file under the backup's name.
 */
export async function backupSqlite(source: Database.Database | string, destination: string, now: () => number = Date.now): Promise<BackupReport> {
  const started = now();
  const partial = `${destination}.partial`;
  rmSync(partial, { force: true });
  const db = typeof source === 'string' ? new Database(source, { readonly: true, fileMustExist: true }) : source;
  try {
    const stepPages = typeof source === 'string' ? ALL_PAGES : SERVING_STEP_PAGES;
    await db.backup(partial, { progress: () => stepPages });
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    if (typeof source === 'string') db.close();
  }
  const lastLedgerId = sealCopy(partial);
  flush(partial);
  renameSync(partial, destination);
  flush(dirname(destination));
  return { file: destination, bytes: statSync(destination).size, lastLedgerId, takenAt: started, durationMs: now() - started };
}

/**
 * Makes the copy one self-contained file: it arrives in WAL mode, like its source, and would grow
 * -wal and -shm files of its own when read. Returns its newest ledger id.
 */
function sealCopy(file: string): number {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    return lastLedgerId(db);
  } finally {
    db.close();
  }
}

const lastLedgerId = (db: Database.Database): number =>
  (db.prepare('SELECT COALESCE(MAX(id), 0) FROM stock_movements').pluck().get() as number | undefined) ?? 0;

/** The id of the newest stock movement in a stockhold SQLite file; 0 when it has none. */
export function readLastLedgerId(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return lastLedgerId(db);
  } finally {
    db.close();
  }
}
