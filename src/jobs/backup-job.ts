import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../domain/clock.js';
import { RepeatingTask } from './repeating-task.js';
import type { OnlineBackup } from '../storage/store.js';

/** The few logger calls the job makes; pino's logger fits. */
export interface BackupLogger {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface BackupJobDeps {
  /** Copies the serving database into the file named, consistently, while it keeps serving. */
  takeBackup(destination: string): Promise<OnlineBackup>;
  dir: string;
  intervalMs: number;
  /** How many of the newest backups to keep; older ones are deleted after each new one. */
  keep: number;
  clock: Clock;
  logger: BackupLogger;
}

const NAME = /^stockhold-(\d{8}T\d{6}\d{3}Z)\.db$/;

/** `stockhold-20261129T203000123Z.db`: sorts by time, and names nothing else the job would delete. */
export function backupFileName(at: number): string {
  return `stockhold-${new Date(at).toISOString().replace(/[-:.]/g, '')}.db`;
}

/**
 * Takes a backup every `intervalMs` into `dir`, keeps the newest `keep`, and remembers when the
 * newest one was taken (for the backup-age metric). A failed backup is logged and tried again at
 * the next interval; it never stops the server.
 */
export class BackupJob {
  private readonly task: RepeatingTask;
  private newest: number | null;
  private readonly createdAt: number;

  constructor(private readonly deps: BackupJobDeps) {
    this.task = new RepeatingTask(() => this.runOnce(), deps.intervalMs, (err) =>
      deps.logger.error({ err }, 'backup failed; trying again next interval'),
    );
    this.createdAt = deps.clock.now();
    mkdirSync(deps.dir, { recursive: true });
    const existing = this.backups();
    this.newest = existing.length > 0 ? statSync(join(deps.dir, existing[existing.length - 1] as string)).mtimeMs : null;
  }

  /** When the newest backup in the folder was taken (ms since the epoch); null when there is none. */
  newestBackupAt(): number | null {
    return this.newest;
  }

  /**
   * Seconds since the newest backup was taken; with none yet, since this job was set up, so that
   * a server that has never managed a backup looks as overdue as one whose backups stopped.
   */
  ageSeconds(): number {
    return Math.max(0, this.deps.clock.now() - (this.newest ?? this.createdAt)) / 1000;
  }

  async runOnce(): Promise<OnlineBackup> {
    const { takeBackup, dir, keep, clock, logger } = this.deps;
    const startedAt = clock.now();
    const report = await takeBackup(join(dir, backupFileName(startedAt)));
    this.newest = startedAt;
    const deleted = this.backups().slice(0, -keep);
    for (const name of deleted) rmSync(join(dir, name), { force: true });
    logger.info(
      { file: report.file, bytes: report.bytes, lastLedgerId: report.lastLedgerId, ms: report.durationMs, deleted: deleted.length },
      'backup taken',
    );
    return report;
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }


  /** This job's backups in the folder, oldest first. */
  private backups(): string[] {
    return readdirSync(this.deps.dir).filter((name) => NAME.test(name)).sort();
  }
}
