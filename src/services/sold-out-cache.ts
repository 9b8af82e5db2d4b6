import type { DomainEvents } from '../domain/events.js';
import { discardedBatchCount } from '../storage/store-errors.js';

const MAX_ENTRIES = 100_000;

/**
 * Remembers skus the store has proved to have nothing available, so a sold-out storm is
 * refused without writing anything. It is a hint that can only say "no": an entry lasts until
 * the earliest live reservation of that sku falls due, and is dropped the moment units are
 * released or added (stock.released fires inside the releasing transaction, before it commits).
 * Only correct where this process sees every release: the single-process SQLite store.
 *
 * An entry is written inside a transaction, from what that transaction read, and that may
 * include an earlier transaction of the same group-committed batch. Should the batch then be
 * discarded (its COMMIT failed), the entry could describe units held by a reservation that never
 * existed, and would refuse stock that is on sale: so every entry is dropped whenever the store
 * reports a discarded batch. A transaction that fails on its own only rolls back to its savepoint
 * and cannot invalidate entries: one that marks a sku sold out returns that refusal and commits.
 */
export class SoldOutCache {
  private readonly until = new Map<string, number>();
  private discards = discardedBatchCount();

  constructor(events: DomainEvents) {
    events.on('stock.released', ({ skus }) => {
      for (const sku of skus) this.until.delete(sku);
    });
  }

  isSoldOut(sku: string, now: number): boolean {
    this.forgetDiscarded();
    const until = this.until.get(sku);
    if (until === undefined) return false;
    if (now < until) return true;
    this.until.delete(sku);
    return false;
  }

  /** `until`: when stock may come back by itself (the next expiry), or null when only a release can. */
  markSoldOut(sku: string, until: number | null): void {
    this.forgetDiscarded();
    if (this.until.size >= MAX_ENTRIES) this.until.clear();
    this.until.set(sku, until ?? Number.POSITIVE_INFINITY);
  }

  private forgetDiscarded(): void {
    const discards = discardedBatchCount();
    if (discards === this.discards) return;
    this.discards = discards;
    this.until.clear();
  }
}
