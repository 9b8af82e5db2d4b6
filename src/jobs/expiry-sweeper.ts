import type { IdempotencyService } from '../services/idempotency.service.js';
import type { Logger } from '../services/logger.js';
import type { ReservationService } from '../services/reservation.service.js';

export const SWEEP_BATCH_SIZE = 500;

export interface SweepResult {
  expired: number;
  prunedKeys: number;
  transactions: number;
}

/**
 * Makes expiry eager: returns the units of due reservations promptly and prunes old
 * idempotency keys. Correctness never waits on it; every decision expires what it reads.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = true;

  constructor(
    private readonly deps: {
      reservations: ReservationService;
      idempotency: IdempotencyService;
      intervalMs: number;
      logger: Logger;
      batchSize?: number;
    },
  ) {}

  /** Expires everything due, one transaction per batch, so other requests interleave between batches. */
  async runOnce(): Promise<SweepResult> {
    const batchSize = this.deps.batchSize ?? SWEEP_BATCH_SIZE;
    const result: SweepResult = { expired: 0, prunedKeys: 0, transactions: 0 };
    for (;;) {
      const expired = await this.deps.reservations.expireDue(batchSize);
      result.transactions++;
      result.expired += expired;
      if (expired < batchSize) break;
    }
    for (;;) {
      const pruned = await this.deps.idempotency.prune(batchSize);
      result.transactions++;
      result.prunedKeys += pruned;
      if (pruned < batchSize) break;
    }
    return result;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  // A timeout chain rather than setInterval, so a slow sweep never overlaps the next one.
  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'expiry sweep failed; retrying next interval'))
        .finally(() => this.schedule());
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
