import type Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import type { StoreTx, WriteQueue } from '../store.js';

interface QueuedTransaction {
  fn: (tx: StoreTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

type Outcome = { job: QueuedTransaction; ok: true; value: unknown } | { job: QueuedTransaction; ok: false; error: unknown };

/** Upper bound on transactions sharing one commit, so one batch never holds the loop for long. */
const MAX_BATCH = 512;

/**
 * Group commit on the store's one connection. Transactions never interleave: they queue in
 * arrival order, and everything queued by the time the connection is free runs in one
 * BEGIN...COMMIT, each in its own SAVEPOINT so a failure rolls back alone. One fsync then makes a
 * whole batch durable, and no caller hears back before the COMMIT that holds its writes.
 */
export class SqliteWriteQueue implements WriteQueue {
  private readonly queue: QueuedTransaction[] = [];
  private readonly statements;
  private draining: Promise<void> | null = null;
  private closed = false;
  private queuedCount = 0;
  private discarded = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly tx: StoreTx,
    private readonly translateError: (err: unknown) => unknown,
  ) {
    this.statements = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT tx'),
      rollbackToSavepoint: db.prepare('ROLLBACK TO tx'),
      release: db.prepare('RELEASE tx'),
    };
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('SQLite store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.queuedCount++;
      // Drain once the current I/O phase has queued everything it will: that is the batch.
      this.draining ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  idle(): boolean {
    // `draining` is set from the first queued transaction until the queue has been drained.
    return !this.closed && this.draining === null;
  }

  queued(): number {
    return this.queuedCount;
  }

  discards(): number {
    return this.discarded;
  }

  /** Refuses new transactions and resolves once those queued have run. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.runBatch(batch);
        } catch (err) {
          // runBatch settles every job itself. Should it ever throw, its callers must still hear
          // back, and the rejection must not escape: nothing awaits the drain, so it would crash
          // the process as an unhandled rejection.
          this.discard(batch, err);
        }
      }
    } finally {
      this.draining = null;
    }
  }

  private async runBatch(batch: QueuedTransaction[]): Promise<void> {
    try {
      // A ROLLBACK that itself failed (an I/O error) leaves the transaction open, and BEGIN would
      // then fail for every batch from here on: the store would never recover.
      if (this.db.inTransaction) this.statements.rollback.run();
      this.statements.begin.run();
    } catch (err) {
      for (const job of batch) job.reject(this.translateError(err));
      return;
    }
    const outcomes: Outcome[] = [];
    for (let i = 0; i < batch.length; i++) {
      const job = batch[i];
      if (!job) break;
      try {
        this.statements.savepoint.run();
        const value = await job.fn(this.tx);
        this.statements.release.run();
        outcomes.push({ job, ok: true, value });
      } catch (error) {
        try {
          // SQLite abandons the whole transaction on some faults (disk full, I/O error), taking
          // the earlier savepoints with it: nothing in this batch can commit any more.
          if (!this.db.open || !this.db.inTransaction) throw error;
          this.statements.rollbackToSavepoint.run();
          this.statements.release.run();
        } catch (fault) {
          this.discard([...outcomes.map((outcome) => outcome.job), job], fault);
          // Those not run yet lost nothing: they go first in the next batch.
          this.queue.unshift(...batch.slice(i + 1));
          return;
        }
        outcomes.push({ job, ok: false, error: this.translateError(error) });
      }
    }
    try {
      this.statements.commit.run();
    } catch (err) {
      // A failed COMMIT (a full disk shows up here, when the WAL is written) loses the whole
      // batch: every caller hears so, including those whose own part went well.
      this.discard(outcomes.map((outcome) => outcome.job), err);
      return;
    }
    for (const outcome of outcomes) {
      if (outcome.ok) outcome.job.resolve(outcome.value);
      else outcome.job.reject(outcome.error);
    }
  }

  /** Ends the batch with nothing committed: rolls back what is open, then rejects every job. */
  private discard(jobs: readonly QueuedTransaction[], err: unknown): void {
    // Before any caller hears back, so no in-memory hint from the discarded bodies is trusted.
    this.discarded++;
    try {
      if (this.db.open && this.db.inTransaction) this.statements.rollback.run();
    } catch {
      // Still open: the next batch rolls it back before its BEGIN.
    }
    const error = this.translateError(err);
    for (const job of jobs) job.reject(error);
  }
}
