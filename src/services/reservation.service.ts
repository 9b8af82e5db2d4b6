import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { DomainEvents } from '../domain/events.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Demand, Product, Reservation } from '../domain/types.js';
import type { Store, StoreTx } from '../storage/store.js';
import { normaliseDemand, sameLines } from './demand.js';
import { notYours, type OwnershipPolicy } from './ownership.js';
import { ReserveBatcher } from './reserve-batcher.js';
import type { SoldOutCache } from './sold-out-cache.js';
import { expireByIds, expireIfDue, insufficient, openReservation, releaseReservation } from './reservation-lifecycle.js';
import { atomically, type AfterEffect, type Emit } from './unit-of-work.js';

export interface ReservationServiceDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  events: DomainEvents;
  reservationTtlMs: number;
  /** Present only where this process sees every release (SQLite). */
  soldOut?: SoldOutCache;
  /** Defaults to `reveal`: 403 for someone else's reservation. */
  ownership?: OwnershipPolicy;
  /** Serve concurrent one-line reserves of one sku in one transaction (see ReserveBatcher). Defaults to on where the store offers it. */
  batchReserves?: boolean;
}

export interface ReserveCommand {
  userId: string;
  lines: Demand[];
}

export interface ReserveResult {
  reservation: Reservation;
  /** true when the user's identical live reservation was returned instead of a new one. */
  replayed: boolean;
}

const DUE_SCAN_LIMIT = 1000;
/** Past this many live holders a sold-out sku is still refused from the hint, but in a transaction. */
const MAX_LISTED_HOLDERS = 10_000;

export class ReservationService {
  private readonly batcher: ReserveBatcher | null;

  constructor(private readonly deps: ReservationServiceDeps) {
    const { store } = deps;
    const batchTransaction = store.batchTransaction?.bind(store);
    const transactionsQueued = store.transactionsQueued?.bind(store);
    this.batcher =
      batchTransaction && (deps.batchReserves ?? true)
        ? new ReserveBatcher({
            transaction: batchTransaction,
            ...(transactionsQueued ? { transactionsQueued } : {}),
            ...(deps.soldOut ? { soldOut: (tx: StoreTx, product: Product) => this.markSoldOut(tx, product) } : {}),
            clock: deps.clock,
            ids: deps.ids,
            events: deps.events,
            reservationTtlMs: deps.reservationTtlMs,
            alone: (userId, line) => this.reserveAlone(userId, [line]),
          })
        : null;
  }

  reserve(command: ReserveCommand, afterEffect?: AfterEffect<ReserveResult>): Promise<ReserveResult> {
    const demand = normaliseDemand(command.lines);
    const [line, ...more] = demand;
    // A keyed request stores its answer inside its own transaction, so only one-line reserves
    // without an Idempotency-Key take the fast path or share a transaction.
    const single = line && more.length === 0 && !afterEffect ? line : undefined;
    if (!single) return this.reserveAlone(command.userId, demand, afterEffect);
    // The sold-out fast path: refused without a transaction when the full path could only refuse
    // it the same way, and nothing queued ahead of it (a cancel, say) could release units first.
    const { soldOut, store, clock } = this.deps;
    if (soldOut?.refusesOutright(single.sku, command.userId, clock.now()) && store.idle?.()) {
      return Promise.reject(insufficient(single.sku, single.quantity, 0));
    }
    if (this.batcher) return this.batcher.submit(command.userId, single);
    return this.reserveAlone(command.userId, demand);
  }

  private reserveAlone(userId: string, demand: Demand[], afterEffect?: AfterEffect<ReserveResult>): Promise<ReserveResult> {
    const command = { userId };
    const skus = demand.map((d) => d.sku);
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const now = clock.now();
      // Per-user rules read, then write: the same user's concurrent reserves take turns.
      await tx.lockUser(command.userId);
      // One read of the user's live reservations: the due ones are expired first, so they count
      // neither as live for the duplicate rule nor against the purchase limit.
      const live: Reservation[] = [];
      for (const held of await tx.listLiveReservations(command.userId)) {
        const current = await expireIfDue(tx, held, now, emit);
        if (current.status === 'RESERVED' && current.items.some((item) => skus.includes(item.sku))) live.push(current);
      }
      const existing = live[0];
      if (existing) {
        if (live.length === 1 && sameLines(existing.items, demand)) {
          const replay = { reservation: existing, replayed: true };
          await afterEffect?.(tx, replay);
          return replay;
        }
        return new DomainError('RESERVATION_CONFLICT', 'You already hold a live reservation for this product', {
          reservationId: existing.id,
          skus: existing.items.map((item) => item.sku),
        });
      }

      const products = await tx.getProducts(skus);
      const missing = skus.find((sku) => !products.some((p) => p.sku === sku));
      if (missing !== undefined) return new DomainError('PRODUCT_NOT_FOUND', 'Product not found', { sku: missing });
      const limitError = await this.checkPurchaseLimits(tx, command.userId, demand, products);
      if (limitError) return limitError;
      const shortage = await this.findShortage(tx, demand, products, now, emit);
      if (shortage) return shortage;

      const id = this.deps.ids();
      const priceOf = new Map(products.map((p) => [p.sku, p.priceMinor]));
      const items = demand.map((d) => ({ ...d, unitPriceMinor: priceOf.get(d.sku) ?? 0 }));
      const reservation = openReservation(id, command.userId, items, now, this.deps.reservationTtlMs);
      const result = { reservation, replayed: false };
      await tx.insertReservation(reservation);
      await afterEffect?.(tx, result);
      // The hot product rows are locked last, so the transaction commits right after taking them.
      const shortfall = await this.hold(tx, demand, id, now, emit);
      if (shortfall) throw shortfall;
      emit('reservation.created', { reservation });
      return result;
    });
  }

  /**
   * Refuses before writing anything when a line cannot fit: from the sold-out cache, or from the
   * product rows just read, after releasing what due reservations of that sku still hold. Under
   * PostgreSQL another transaction may still take the stock first; the guarded hold decides then.
   */
  private async findShortage(
    tx: StoreTx,
    demand: Demand[],
    products: Product[],
    now: number,
    emit: Emit,
  ): Promise<DomainError | null> {
    const { soldOut } = this.deps;
    // Expiring a due multi-line reservation frees units of other skus too: after any expiry,
    // later lines are judged on fresh rows, not on the ones read before it.
    let rowsAreStale = false;
    const current = async (sku: string): Promise<Product> =>
      (rowsAreStale ? await tx.getProduct(sku) : undefined) ?? (products.find((p) => p.sku === sku) as Product);
    for (const { sku, quantity } of demand) {
      if (soldOut?.isSoldOut(sku, now)) return insufficient(sku, quantity, 0);
      let product = await current(sku);
      if (product.onHand - product.reserved >= quantity) continue;
      const due = await tx.findDueReservationIds(now, DUE_SCAN_LIMIT, { sku });
      if ((await expireByIds(tx, due, now, emit)) > 0) {
        rowsAreStale = true;
        product = await current(sku);
      }
      const available = product.onHand - product.reserved;
      if (available >= quantity) continue;
      if (available === 0) await this.markSoldOut(tx, product);
      return insufficient(sku, quantity, available);
    }
    return null;
  }

  /** Records in the sold-out hint what this transaction just proved: nothing of `product` is left. */
  private async markSoldOut(tx: StoreTx, product: Product): Promise<void> {
    const { soldOut, clock, reservationTtlMs } = this.deps;
    const now = clock.now();
    // Already marked: that proof still stands, and its holder list can only have shrunk since.
    // Proving it again would only read the same ledger rows once more, in every such refusal.
    if (!soldOut || soldOut.isSoldOut(product.sku, now)) return;
    const holders = await tx.liveHoldersOfSku(product.sku, MAX_LISTED_HOLDERS);
    // Not only this sku's next expiry: while any reservation is due, a refusal must take the full
    // path, which expires the shopper's own due reservations first (lazy expiry). Reservations
    // made from now on fall due no sooner than one TTL from now.
    const earliest = Math.min((await tx.earliestLiveExpiry()) ?? Infinity, now + reservationTtlMs);
    soldOut.markSoldOut(product.sku, {
      until: earliest,
      holders,
      limited: product.maxPerUser !== null,
    });
  }

  /**
   * Guarded holds in sku order. When a line does not fit, units still held by due reservations
   * of that sku are released first: stock held by an expired reservation is never refused.
   */
  private async hold(tx: StoreTx, demand: Demand[], id: string, now: number, emit: Emit): Promise<DomainError | null> {
    let remaining = demand;
    for (;;) {
      const result = await tx.holdStock(remaining, id, now);
      if (result.ok) return null;
      const due = await tx.findDueReservationIds(now, DUE_SCAN_LIMIT, { sku: result.sku });
      if ((await expireByIds(tx, due, now, emit)) === 0) {
        return insufficient(result.sku, remaining.find((d) => d.sku === result.sku)?.quantity ?? 0, result.available);
      }
      remaining = remaining.slice(remaining.findIndex((d) => d.sku === result.sku));
    }
  }

  private async checkPurchaseLimits(
    tx: StoreTx,
    userId: string,
    demand: Demand[],
    products: Product[],
  ): Promise<DomainError | null> {
    for (const { sku, quantity } of demand) {
      const limit = products.find((p) => p.sku === sku)?.maxPerUser;
      if (limit === null || limit === undefined) continue;
      const held = await tx.unitsHeldByUser(userId, sku);
      if (held + quantity > limit) {
        return new DomainError('PURCHASE_LIMIT_EXCEEDED', `At most ${limit} units of ${sku} per customer`, {
          sku,
          maxPerUser: limit,
          alreadyHeld: held,
          requested: quantity,
        });
      }
    }
    return null;
  }

  /**
   * Reads a reservation in its current status, expiring it first when it is due. `viewer`, when
   * given, must own it; otherwise it is answered per the ownership policy.
   */
  get(id: string, viewer?: string): Promise<Reservation> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const reservation = await tx.getReservation(id);
      if (!reservation) return notFound(id);
      if (viewer !== undefined && reservation.userId !== viewer) return this.notYours(id);
      return expireIfDue(tx, reservation, clock.now(), emit);
    });
  }

  cancel(id: string, userId: string, afterEffect?: AfterEffect<Reservation>): Promise<Reservation> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const now = clock.now();
      const found = await tx.getReservation(id);
      if (!found) return notFound(id);
      if (found.userId !== userId) return this.notYours(id);
      const reservation = await expireIfDue(tx, found, now, emit);
      switch (reservation.status) {
        case 'RESERVED':
          return (await releaseReservation(tx, reservation, 'CANCELLED', now, emit)) ?? invalidState(reservation);
        case 'CANCELLED':
          return reservation;
        case 'EXPIRED':
          return new DomainError('RESERVATION_EXPIRED', 'Reservation has expired', { reservationId: id });
        case 'CONFIRMED':
          return new DomainError('INVALID_STATE', 'Reservation is confirmed; cancel its order instead', {
            reservationId: id,
            status: reservation.status,
          });
      }
    }, afterEffect);
  }

  private notYours(id: string): DomainError {
    return notYours(this.deps.ownership ?? 'reveal', 'reservation', notFound(id));
  }

  /** One sweep step: expires at most `batchSize` due reservations in one transaction. */
  expireDue(batchSize: number): Promise<number> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const now = clock.now();
      return expireByIds(tx, await tx.findDueReservationIds(now, batchSize), now, emit);
    });
  }
}

export const notFound = (reservationId: string): DomainError =>
  new DomainError('RESERVATION_NOT_FOUND', 'Reservation not found', { reservationId });

const invalidState = (reservation: Reservation): DomainError =>
  new DomainError('INVALID_STATE', `Reservation is ${reservation.status}`, {
    reservationId: reservation.id,
    status: reservation.status,
  });
