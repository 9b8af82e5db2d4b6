import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { DomainEvents } from '../domain/events.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Demand, Product, Reservation } from '../domain/types.js';
import type { Store, StoreTx } from '../storage/store.js';
import { normaliseDemand } from './demand.js';
import { notYours, type OwnershipPolicy } from './ownership.js';
import { ReserveBatcher } from './reserve-batcher.js';
import { decideReserve, insufficient, type ProductOnSale, type ShopperStanding } from './reserve-policy.js';
import type { SoldOutCache } from './sold-out-cache.js';
import { expireByIds, expireIfDue, openReservation, releasedDueUnits, releaseReservation } from './reservation-lifecycle.js';
import { atomically, commit, refuse, rollBack, type AfterEffect, type Emit, type Ending } from './unit-of-work.js';

export interface ReservationServiceDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  events: DomainEvents;
  reservationTtlMs: number;
  /** Present only where this process sees every release (SQLite) and the fast paths are on. */
  soldOut?: SoldOutCache;
  /** Defaults to `reveal`: 403 for someone else's reservation. */
  ownership?: OwnershipPolicy;
  /**
   * Serve concurrent one-line reserves of one sku in one transaction (see ReserveBatcher), and
   * refuse from the sold-out hint when one is given. Defaults to on. Either way the answers are
   * those of one reserve at a time.
   */
  fastPaths?: boolean;
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

export interface CancelledReservation {
  reservation: Reservation;
  repeated: boolean;
}

/** Past this many live holders a sold-out sku is still refused from the hint, but in a transaction. */
const MAX_LISTED_HOLDERS = 10_000;

export class ReservationService {
  private readonly batcher: ReserveBatcher | null;
  private readonly soldOut: SoldOutCache | undefined;

  constructor(private readonly deps: ReservationServiceDeps) {
    const { store } = deps;
    const fastPaths = deps.fastPaths ?? true;
    this.soldOut = fastPaths ? deps.soldOut : undefined;
    this.batcher = fastPaths
      ? new ReserveBatcher({
          transaction: (fn) => store.transaction(fn),
          ...(store.writeQueue ? { writeQueue: store.writeQueue } : {}),
          ...(this.soldOut ? { soldOut: (tx: StoreTx, product: Product) => this.markSoldOut(tx, product) } : {}),
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
    const { store, clock } = this.deps;
    if (this.soldOut?.refusesOutright(single.sku, command.userId, clock.now()) && store.writeQueue?.idle()) {
      return Promise.reject(insufficient(single.sku, single.quantity, 0));
    }
    if (this.batcher) return this.batcher.submit(command.userId, single);
    return this.reserveAlone(command.userId, demand);
  }

  /** One reserve in a transaction of its own: reads every fact the reserve policy may need, and carries out its decision. */
  private reserveAlone(userId: string, demand: Demand[], afterEffect?: AfterEffect<ReserveResult>): Promise<ReserveResult> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit): Promise<Ending<ReserveResult>> => {
      const now = clock.now();
      // Per-user rules read, then write: the same user's concurrent reserves take turns.
      await tx.shoppers.lock(userId);
      let live = await tx.reservations.listLive(userId);
      let products = await tx.products.getMany(demand.map((d) => d.sku));
      const ordered = new Map<string, number>();
      for (const product of products) {
        if (product.maxPerUser === null) continue;
        const [standing] = await tx.shoppers.standings([userId], product.sku, now);
        ordered.set(product.sku, standing?.orderedUnits ?? 0);
      }
      for (;;) {
        const standing: ShopperStanding = {
          dueReservations: live.filter((r) => r.expiresAt <= now).length,
          holding: live.filter((r) => r.items.some((item) => demand.some((d) => d.sku === item.sku))),
          orderedUnits: (sku) => ordered.get(sku) ?? 0,
        };
        const decision = decideReserve(standing, products.map((p) => this.onSale(p, now)), demand);
        switch (decision.kind) {
          case 'expire-due': {
            const current: Reservation[] = [];
            for (const held of live) current.push(await expireIfDue(tx, held, now, emit));
            // A reservation still live and due after this would be a store that lost a row: dropping
            // it keeps the policy from asking for the same expiry forever.
            live = current.filter((r) => r.status === 'RESERVED' && r.expiresAt > now);
            // Their units are back on sale: judge stock on fresh rows.
            products = await tx.products.getMany(demand.map((d) => d.sku));
            continue;
          }
          case 'full-path':
            throw new Error('the one-at-a-time path reads every fact the reserve policy needs');
          case 'replay': {
            const replay = { reservation: decision.reservation, replayed: true };
            await afterEffect?.(tx, replay);
            return commit(replay);
          }
          case 'refuse':
            return refuse(decision.error);
          case 'short': {
            // The hint stands only while nothing is due, so there is nothing to release.
            if (!this.soldOut?.isSoldOut(decision.sku, now) && (await releasedDueUnits(tx, decision.sku, now, emit))) {
              products = await tx.products.getMany(demand.map((d) => d.sku));
              continue;
            }
            const product = products.find((p) => p.sku === decision.sku);
            if (decision.available === 0 && product) await this.markSoldOut(tx, product);
            return refuse(insufficient(decision.sku, decision.requested, decision.available));
          }
          case 'hold':
            break;
        }
        break;
      }

      const id = this.deps.ids();
      const priceOf = new Map(products.map((p) => [p.sku, p.priceMinor]));
      const items = demand.map((d) => ({ ...d, unitPriceMinor: priceOf.get(d.sku) ?? 0 }));
      const reservation = openReservation(id, userId, items, now, this.deps.reservationTtlMs);
      const result = { reservation, replayed: false };
      await tx.reservations.insert(reservation);
      await afterEffect?.(tx, result);
      // The hot product rows are locked last, so the transaction commits right after taking them.
      const shortfall = await this.hold(tx, demand, id, now, emit);
      // Another transaction took the stock since the read (PostgreSQL): nothing of this reserve stays.
      if (shortfall) return rollBack(shortfall);
      emit('reservation.created', { reservation });
      return commit(result);
    });
  }

  /** What the reserve policy reads of a product: nothing is on sale of a sku the hint knows is sold out. */
  private onSale(product: Product, now: number): ProductOnSale {
    const available = this.soldOut?.isSoldOut(product.sku, now) ? 0 : product.onHand - product.reserved;
    return { sku: product.sku, maxPerUser: product.maxPerUser, available };
  }

  /** Records in the sold-out hint what this transaction just proved: nothing of `product` is left. */
  private async markSoldOut(tx: StoreTx, product: Product): Promise<void> {
    const { soldOut } = this;
    const { clock, reservationTtlMs } = this.deps;
    const now = clock.now();
    // Already marked: that proof still stands, and its holder list can only have shrunk since.
    // Proving it again would only read the same ledger rows once more, in every such refusal.
    if (!soldOut || soldOut.isSoldOut(product.sku, now)) return;
    const holders = await tx.reservations.liveHolders(product.sku, MAX_LISTED_HOLDERS);
    // Not only this sku's next expiry: while any reservation is due, a refusal must take the full
    // path, which expires the shopper's own due reservations first (lazy expiry). Reservations
    // made from now on fall due no sooner than one TTL from now.
    const earliest = Math.min((await tx.reservations.earliestExpiry()) ?? Infinity, now + reservationTtlMs);
    soldOut.markSoldOut(product.sku, {
      until: earliest,
      holders,
      limited: product.maxPerUser !== null,
    });
  }

  /** Guarded holds in sku order; a line that no longer fits gets what due reservations of its sku hold first. */
  private async hold(tx: StoreTx, demand: Demand[], id: string, now: number, emit: Emit): Promise<DomainError | null> {
    let remaining = demand;
    for (;;) {
      const result = await tx.products.hold(remaining, id, now);
      if (result.ok) return null;
      if (!(await releasedDueUnits(tx, result.sku, now, emit))) {
        return insufficient(result.sku, remaining.find((d) => d.sku === result.sku)?.quantity ?? 0, result.available);
      }
      remaining = remaining.slice(remaining.findIndex((d) => d.sku === result.sku));
    }
  }

  /**
   * Reads a reservation in its current status, expiring it first when it is due. `viewer`, when
   * given, must own it; otherwise it is answered per the ownership policy.
   */
  get(id: string, viewer?: string): Promise<Reservation> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const reservation = await tx.reservations.get(id);
      if (!reservation) return refuse(notFound(id));
      if (viewer !== undefined && reservation.userId !== viewer) return refuse(this.notYours(id));
      return commit(await expireIfDue(tx, reservation, clock.now(), emit));
    });
  }

  /** `repeated`: it was already cancelled, and this call changed nothing. */
  cancel(id: string, userId: string, afterEffect?: AfterEffect<CancelledReservation>): Promise<CancelledReservation> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const now = clock.now();
      const found = await tx.reservations.get(id);
      if (!found) return refuse(notFound(id));
      if (found.userId !== userId) return refuse(this.notYours(id));
      const reservation = await expireIfDue(tx, found, now, emit);
      switch (reservation.status) {
        case 'RESERVED': {
          const cancelled = await releaseReservation(tx, reservation, 'CANCELLED', now, emit);
          return cancelled ? commit({ reservation: cancelled, repeated: false }) : refuse(invalidState(reservation));
        }
        case 'CANCELLED':
          return commit({ reservation, repeated: true });
        case 'EXPIRED':
          return refuse(new DomainError('RESERVATION_EXPIRED', 'Reservation has expired', { reservationId: id }));
        case 'CONFIRMED':
          return refuse(
            new DomainError('INVALID_STATE', 'Reservation is confirmed; cancel its order instead', {
              reservationId: id,
              status: reservation.status,
            }),
          );
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
      return commit(await expireByIds(tx, await tx.reservations.findDue(now, batchSize), now, emit));
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
