import { DomainError } from '../domain/errors.js';
import type { Demand, Reservation } from '../domain/types.js';
import { sameLines } from './demand.js';

/**
 * What a reserve knows of the shopper when it decides. A reader may know less than all of it (the
 * batch reads counts, the sold-out hint knows only who held the sku): a rule that needs what was
 * not read answers `full-path`, and the caller then decides in a transaction of its own.
 */
export interface ShopperStanding {
  /** The shopper's live reservations (any sku) past their expiry. */
  dueReservations: number;
  /**
   * The shopper's live reservations holding a sku of the demand, oldest first; or only how many
   * there are; or null when unknown.
   */
  holding: readonly Reservation[] | number | null;
  /** Units of `sku` in the shopper's confirmed or completed orders; null when not read. */
  orderedUnits: ((sku: string) => number) | null;
}

/** What the rules read of a product. */
export interface ProductOnSale {
  sku: string;
  maxPerUser: number | null;
  /** Units on sale now: on hand less reserved (less what the decider has already given out). */
  available: number;
}

export type ReserveDecision =
  /** Lazy expiry: end the shopper's due reservations first, then decide again. */
  | { kind: 'expire-due' }
  /** What was read cannot decide; the one-request-per-transaction path will. */
  | { kind: 'full-path' }
  /** The shopper's identical live reservation is the answer. */
  | { kind: 'replay'; reservation: Reservation }
  /** Conflict, product not found or purchase limit: refused, whatever the stock. */
  | { kind: 'refuse'; error: DomainError }
  /** Not enough of `sku` on sale. Units held by due reservations of it go back on sale before this is final. */
  | { kind: 'short'; sku: string; requested: number; available: number }
  /** Every rule passed: hold the demand. */
  | { kind: 'hold' };

/**
 * The one place that decides a reserve, every rule once, in the order it applies. Pure: the
 * callers read the facts (one at a time, in a batch, or from the sold-out hint) and carry out the
 * decision. `demand` is normalised (skus unique and sorted).
 */
export function decideReserve(
  standing: ShopperStanding,
  products: readonly ProductOnSale[],
  demand: readonly Demand[],
): ReserveDecision {
  // 1. Lazy expiry: a reservation past its expiry is expired before anything counts it.
  if (standing.dueReservations > 0) return { kind: 'expire-due' };

  // 2. One live reservation per shopper and sku: the same demand again is a replay, anything else a conflict.
  const { holding } = standing;
  if (holding === null || (typeof holding === 'number' && holding > 0)) return { kind: 'full-path' };
  const held = typeof holding === 'number' ? [] : holding;
  const [existing] = held;
  if (existing) {
    if (held.length === 1 && sameLines(existing.items, demand)) return { kind: 'replay', reservation: existing };
    return refuse('RESERVATION_CONFLICT', 'You already hold a live reservation for this product', {
      reservationId: existing.id,
      skus: existing.items.map((item) => item.sku),
    });
  }

  // 3. Every sku names a product.
  const lines: Array<{ line: Demand; product: ProductOnSale }> = [];
  for (const line of demand) {
    const product = products.find((p) => p.sku === line.sku);
    if (!product) return refuse('PRODUCT_NOT_FOUND', 'Product not found', { sku: line.sku });
    lines.push({ line, product });
  }

  // 4. The purchase limit: units already ordered plus this demand. No live reservation of the sku
  //    is counted, because rule 2 lets none through.
  for (const { line, product } of lines) {
    const limit = product.maxPerUser;
    if (limit === null) continue;
    if (standing.orderedUnits === null) return { kind: 'full-path' };
    const ordered = standing.orderedUnits(line.sku);
    if (ordered + line.quantity > limit) {
      return refuse('PURCHASE_LIMIT_EXCEEDED', `At most ${limit} units of ${line.sku} per customer`, {
        sku: line.sku,
        maxPerUser: limit,
        alreadyHeld: ordered,
        requested: line.quantity,
      });
    }
  }

  // 5. Stock: every line must fit in what is on sale.
  for (const { line, product } of lines) {
    if (product.available < line.quantity) {
      return { kind: 'short', sku: line.sku, requested: line.quantity, available: product.available };
    }
  }
  return { kind: 'hold' };
}

const refuse = (...args: ConstructorParameters<typeof DomainError>): ReserveDecision => ({
  kind: 'refuse',
  error: new DomainError(...args),
});

/** The answer to a `short` decision that stands. */
export const insufficient = (sku: string, requested: number, available: number): DomainError =>
  new DomainError('INSUFFICIENT_INVENTORY', 'Insufficient inventory available', { sku, requested, available });
