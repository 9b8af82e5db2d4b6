import type { Clock } from '../domain/clock.js';
import type { DomainEvents } from '../domain/events.js';
import type { ProductBalance, StockCorrection, Store } from '../storage/store.js';
import { atomically, commit } from './unit-of-work.js';

/**
 * Which rule a counter broke:
 * - `ledger`: the counter is not what its ledger replays to (SUM of its delta);
 * - `reservations`: `reserved` is not the units of live (RESERVED) reservations;
 * - `orders`: `sold` is not the units of CONFIRMED or COMPLETED orders;
 * - `received`: `on_hand + sold` is not every unit received (RECEIVE and ADJUST movements);
 * - `bounds`: a counter is negative, or `reserved` exceeds `on_hand`.
 */
export type DriftCheck = 'ledger' | 'reservations' | 'orders' | 'received' | 'bounds';
export type DriftField = 'on_hand' | 'reserved' | 'sold' | 'on_hand+sold';

export interface ProductDrift {
  sku: string;
  check: DriftCheck;
  field: DriftField;
  /** What the product row holds. */
  stored: number;
  /** What the rule says it should hold; for `bounds`, the nearest value inside them. */
  expected: number;
}

export interface ReconciliationReport {
  skusChecked: number;
  driftedSkus: number;
  /** Sorted by sku, then in the order of the checks above. */
  drifts: ProductDrift[];
}

export interface RepairResult {
  /** What the check found before the repair. */
  before: ReconciliationReport;
  /** What was written, one per drifted sku; empty when the store was clean. */
  corrections: StockCorrection[];
}

/** The ledger reference of the ADJUST movements a repair writes. */
export const REPAIR_REF_ID = 'reconcile';

/** Drift the repair will not decide by itself: a person has to look at the ledger. */
export class RepairRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepairRefusedError';
  }
}

/** Every rule one product's balance breaks; empty when it is consistent. */
export function driftsOf(b: ProductBalance): ProductDrift[] {
  const drifts: ProductDrift[] = [];
  const expect = (check: DriftCheck, field: DriftField, stored: number, expected: number) => {
    if (stored !== expected) drifts.push({ sku: b.sku, check, field, stored, expected });
  };
  expect('ledger', 'on_hand', b.onHand, b.ledgerOnHand);
  expect('ledger', 'reserved', b.reserved, b.ledgerReserved);
  expect('ledger', 'sold', b.sold, b.ledgerSold);
  expect('reservations', 'reserved', b.reserved, b.liveReserved);
  expect('orders', 'sold', b.sold, b.orderedSold);
  // RECEIVE and ADJUST bring units in; CONFIRM moves them from on_hand to sold and RESTOCK back,
  // and the reservation moves touch neither: so on_hand + sold is everything that came in.
  expect('received', 'on_hand+sold', b.onHand + b.sold, b.received);
  expect('bounds', 'on_hand', b.onHand, Math.max(b.onHand, 0));
  expect('bounds', 'sold', b.sold, Math.max(b.sold, 0));
  expect('bounds', 'reserved', b.reserved, Math.min(Math.max(b.reserved, 0), Math.max(b.onHand, 0)));
  return drifts;
}

export function reportOf(balances: readonly ProductBalance[]): ReconciliationReport {
  const drifts: ProductDrift[] = [];
  let driftedSkus = 0;
  for (const balance of balances) {
    const found = driftsOf(balance);
    if (found.length > 0) driftedSkus++;
    drifts.push(...found);
  }
  return { skusChecked: balances.length, driftedSkus, drifts };
}

/**
 * The repair rule, for one drifted product. Live reservations are the truth for `reserved` and
 * confirmed or completed orders the truth for `sold`: they are what shoppers were told. Where the
 * ledger disagrees with them, an ADJUST movement makes up the difference, so the ledger still
 * replays to the counters; units the orders say were sold leave `on_hand` as a confirm would
 * (`delta_on_hand = -delta_sold`), so the units received are unchanged. `on_hand` is what the
 * ledger replays to after that adjustment. Refused (nothing written) when the ledger contradicts
 * itself (its movements do not add up to what was received) or the result breaks the bounds.
 */
export function correctionFor(b: ProductBalance): StockCorrection {
  if (b.ledgerOnHand + b.ledgerSold !== b.received) {
    throw new RepairRefusedError(
      `${b.sku}: the ledger contradicts itself (its movements leave on_hand + sold = ${b.ledgerOnHand + b.ledgerSold}, ` +
        `but ${b.received} units were received); repair will not guess which movement is wrong`,
    );
  }
  const deltaSold = b.orderedSold - b.ledgerSold;
  const deltaReserved = b.liveReserved - b.ledgerReserved;
  const correction: StockCorrection = {
    sku: b.sku,
    onHand: b.ledgerOnHand - deltaSold,
    reserved: b.liveReserved,
    sold: b.orderedSold,
    adjustment: deltaSold === 0 && deltaReserved === 0 ? null : { deltaOnHand: -deltaSold, deltaReserved, deltaSold },
  };
  if (correction.onHand < 0 || correction.reserved > correction.onHand) {
    throw new RepairRefusedError(
      `${b.sku}: repairing would leave on_hand ${correction.onHand} with ${correction.reserved} reserved ` +
        `(ledger on_hand ${b.ledgerOnHand}, ordered ${b.orderedSold}, live reservations ${b.liveReserved})`,
    );
  }
  return correction;
}

export interface ReconciliationServiceDeps {
  store: Store;
  clock: Clock;
  events: DomainEvents;
}

/**
 * The reconciler: recomputes every product's counters from its ledger, its live reservations
 * and its orders, reports where they drifted, and repairs them. The store computes the figures
 * in one set-based read; the rules comparing them live here, once.
 */
export class ReconciliationService {
  constructor(private readonly deps: ReconciliationServiceDeps) {}

  /** Reads and compares; writes nothing. */
  check(): Promise<ReconciliationReport> {
    return this.deps.store.transaction(async (tx) => reportOf(await tx.ledger.balances()));
  }

  /**
   * Checks and, on drift, rewrites the drifted products' counters by the rule of `correctionFor`,
   * all in one transaction that stops other stock moves while it runs. It checks again before
   * committing: a repair either leaves the store clean or changes nothing (RepairRefusedError).
   * A clean store is found by a plain check first, so it never stops anyone.
   */
  async repair(): Promise<RepairResult> {
    const checked = await this.check();
    if (checked.drifts.length === 0) return { before: checked, corrections: [] };
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const balances = await tx.ledger.balances({ lock: true });
      const before = reportOf(balances);
      if (before.drifts.length === 0) return commit({ before, corrections: [] });
      const corrections = balances.filter((b) => driftsOf(b).length > 0).map(correctionFor);
      await tx.ledger.correct(corrections, REPAIR_REF_ID, clock.now());
      const after = reportOf(await tx.ledger.balances());
      if (after.drifts.length > 0) {
        throw new RepairRefusedError(`drift remains after the repair, so nothing was written: ${describeDrifts(after.drifts)}`);
      }
      emit('stock.changed', { skus: corrections.map((c) => c.sku) });
      return commit({ before, corrections });
    });
  }
}

const CHECK_NAMES: Record<DriftCheck, string> = {
  ledger: 'ledger replay',
  reservations: 'live reservations',
  orders: 'confirmed and completed orders',
  received: 'units received',
  bounds: 'bounds',
};

/** One line for one drift: sku, field, stored and expected values, and the rule. */
export function formatDrift(d: ProductDrift): string {
  return `${d.sku} ${d.field}: stored ${d.stored}, expected ${d.expected} (${CHECK_NAMES[d.check]})`;
}

/** A short inline list: the first few drifts, and how many more. */
export function describeDrifts(drifts: readonly ProductDrift[], max = 3): string {
  const shown = drifts.slice(0, max).map(formatDrift).join('; ');
  return drifts.length > max ? `${shown}; and ${drifts.length - max} more` : shown;
}
