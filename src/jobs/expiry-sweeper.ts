import type { IdempotencyService } from '../services/idempotency.service.js';
import type { Logger } from '../services/logger.js';
import { RepeatingTask } from './repeating-task.js';
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
  private readonly task: RepeatingTask;

  constructor(
    private readonly deps: {
      reservations: ReservationService;
      idempotency: IdempotencyService;
      intervalMs: number;
      logger: Logger;
      batchSize?: number;
    },
  ) {
    this.task = new RepeatingTask(() => this.runOnce(), deps.intervalMs, (err) =>
      deps.logger.warn({ err }, 'expiry sweep failed; retrying next interval'),
    );
  }

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
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

}
