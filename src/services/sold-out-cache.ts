import type { DomainEvents } from '../domain/events.js';
import { decideReserve } from './reserve-policy.js';

const MAX_ENTRIES = 100_000;

/** What the store proved when it found a sku with nothing available. */
export interface SoldOutProof {
  /**
   * When the entry lapses: no later than the sku's next expiry, when stock may come back by
   * itself. null: only a release ends it.
   */
  until: number | null;
  /**
   * The users holding live reservations of the sku at that moment, or null when there were too
   * many to list. No reservation of the sku can start while it stays sold out, so this set can
   * only shrink while the entry lasts: a user outside it holds none.
   */
  holders: readonly string[] | null;
  /** The product has a purchase limit, which is judged before stock. */
  limited: boolean;
}

interface Entry {
  until: number;
  holders: ReadonlySet<string> | null;
  limited: boolean;
}

/**
 * Remembers skus the store has proved to have nothing available, so a sold-out storm is
 * refused without writing anything. It is a hint that can only say "no": an entry lasts until
 * the earliest live reservation (of any sku, made before or after the entry) falls due, and is dropped the moment units are
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
  private readonly entries = new Map<string, Entry>();
  private discards: number;

  /** `discards` is the store's count of discarded batches (its write queue's `discards`). */
  constructor(
    events: DomainEvents,
    private readonly discarded: () => number,
  ) {
    this.discards = discarded();
    events.on('stock.released', ({ skus }) => {
      for (const sku of skus) this.entries.delete(sku);
    });
  }

  isSoldOut(sku: string, now: number): boolean {
    return this.entry(sku, now) !== undefined;
  }

  /**
   * True when the reserve policy, given what the entry proves, can only refuse a reserve of one
   * unit or more of `sku` by `userId` as short: nothing is due while an entry stands, the holders
   * say whether the user holds the sku (the duplicate rule), and a purchase limit, whose ordered
   * units the hint does not know, leaves the decision to the full path.
   */
  refusesOutright(sku: string, userId: string, now: number): boolean {
    const entry = this.entry(sku, now);
    if (entry === undefined) return false;
    const standing = {
      dueReservations: 0,
      holding: entry.holders === null ? null : entry.holders.has(userId) ? 1 : 0,
      orderedUnits: null,
    };
    // Only whether a limit exists matters here: with ordered units unknown, any limit defers.
    const product = { sku, maxPerUser: entry.limited ? Number.POSITIVE_INFINITY : null, available: 0 };
    return decideReserve(standing, [product], [{ sku, quantity: 1 }]).kind === 'short';
  }

  markSoldOut(sku: string, proof: SoldOutProof): void {
    this.forgetDiscarded();
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(sku, {
      until: proof.until ?? Number.POSITIVE_INFINITY,
      holders: proof.holders ? new Set(proof.holders) : null,
      limited: proof.limited,
    });
  }

  private entry(sku: string, now: number): Entry | undefined {
    this.forgetDiscarded();
    const entry = this.entries.get(sku);
    if (entry === undefined || now < entry.until) return entry;
    this.entries.delete(sku);
    return undefined;
  }

  private forgetDiscarded(): void {
    const discards = this.discarded();
    if (discards === this.discards) return;
    this.discards = discards;
    this.entries.clear();
  }
}
