import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { DomainEvents } from '../domain/events.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Demand, Product, Reservation } from '../domain/types.js';
import type { StoreTx, UserStanding, WriteQueue } from '../storage/store.js';
import { StoreUnavailableError } from '../domain/store-unavailable.js';
import { openReservation, releasedDueUnits } from './reservation-lifecycle.js';
import { decideReserve, insufficient, type ShopperStanding } from './reserve-policy.js';
import { heldEvents, type Emit } from './unit-of-work.js';

/** What a reserve answers; the same shape as ReservationService's. */
export interface BatchedReserveResult {
  reservation: Reservation;
  replayed: boolean;
}

export interface ReserveBatcherDeps {
  /** The store's `transaction`. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  clock: Clock;
  ids: IdGenerator;
  events: DomainEvents;
  reservationTtlMs: number;
  /** The one-request-per-transaction path, for every request a batch does not decide itself. */
  alone(userId: string, line: Demand): Promise<BatchedReserveResult>;
  /**
   * The store's write queue, where transactions run one after another in arrival order (SQLite).
   * A batch then joins the store's queue at its first request, and later requests join the batch
   * only while nothing else has been queued behind it: a multi-line reserve or a cancel that
   * arrives between two one-line reserves is served between them.
   */
  writeQueue?: WriteQueue;
  /** Called in the batch's transaction when it leaves a sku with nothing available and refused someone. */
  soldOut?: (tx: StoreTx, product: Product) => Promise<void>;
  /** Most requests one transaction serves. */
  maxBatch?: number;
  /** Most batches of one sku in flight at once. */
  maxInFlight?: number;
}

interface Pending {
  userId: string;
  line: Demand;
  resolve(result: BatchedReserveResult): void;
  reject(reason: unknown): void;
}

/** A batch queued in the store (in-order mode) that requests may still join. */
interface OpenBatch {
  pending: Pending[];
  users: Set<string>;
  /** The write queue's `queued()` right after this batch was queued. */
  queuedAs: number;
  started: boolean;
}

interface SkuQueue {
  waiting: Pending[];
  /** Batches of this sku in flight. */
  running: number;
  scheduled: boolean;
}

type Decision = BatchedReserveResult | DomainError;

/** One pass of the policy over a batch. */
interface Shared extends Decided {
  granted: Array<{ pending: Pending; reservation: Reservation }>;
  refused: Array<{ pending: Pending; available: number }>;
  /** Units still on sale after the granted ones. */
  left: number;
}

interface Decided {
  decisions: Map<Pending, Decision>;
  /** Requests the batch leaves to the one-at-a-time path, run after the batch commits. */
  alone: Pending[];
}

const DEFAULT_MAX_BATCH = 256;
/**
 * One batch of a sku at a time per process: while it runs, the next one fills. Two in flight
 * (overlapping one batch's reads with the other's hold) measured no better on 2 cores.
 */
const DEFAULT_MAX_IN_FLIGHT = 1;
/** Guarded holds a batch tries before leaving its requests to the one-at-a-time path. */
const MAX_HOLD_ROUNDS = 8;

/**
 * Serves concurrent one-line reserves of the same sku, from this process, in one transaction:
 * the per-user advisory locks of all their users (in key order), one read of the users' standing,
 * one read of the product, then one statement that holds the batch's total units with a guarded
 * UPDATE and inserts every reservation, line and ledger row. The hot product row is locked once
 * per batch instead of once per request.
 *
 * On SQLite the batch is queued in the store at its first request and later requests join it
 * while nothing else was queued behind it (the store's write queue), so arrival order holds across
 * all writes. Elsewhere requests queue per sku while a batch of that sku runs, and the queue
 * becomes the next batch. A user appears at most once per batch (a second request waits for the
 * next one). Everything unusual is
 * left to the ordinary path, after the batch commits: a user who holds a live reservation of the
 * sku (the duplicate rule, whose answers take no stock) or a due one of any sku (lazy expiry),
 * and a batch that keeps losing its guarded hold.
 * When the total does not fit, units are granted in arrival order as if the requests had run one
 * after another (after releasing what due reservations of the sku still hold), and the rest are
 * refused with the units that were left at their turn. Every answer waits for the commit; a store
 * fault fails the whole batch with nothing committed, and any other failure of the batch
 * transaction leaves each of its requests to the ordinary path.
 */
export class ReserveBatcher {
  private readonly queues = new Map<string, SkuQueue>();
  private readonly open = new Map<string, OpenBatch>();
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(private readonly deps: ReserveBatcherDeps) {
    this.maxBatch = deps.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxInFlight = deps.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  }

  submit(userId: string, line: Demand): Promise<BatchedReserveResult> {
    const { writeQueue } = this.deps;
    if (writeQueue) return new Promise((resolve, reject) => this.joinInOrder({ userId, line, resolve, reject }, writeQueue));
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(line.sku);
      if (!queue) {
        queue = { waiting: [], running: 0, scheduled: false };
        this.queues.set(line.sku, queue);
      }
      queue.waiting.push({ userId, line, resolve, reject });
      this.schedule(line.sku, queue);
    });
  }

  /**
   * In-order mode: joins the sku's open batch when it is still the last transaction queued, has
   * not started and has room (and not this user); otherwise queues a new batch behind everything.
   */
  private joinInOrder(pending: Pending, writeQueue: WriteQueue): void {
    const { sku } = pending.line;
    const open = this.open.get(sku);
    if (
      open &&
      !open.started &&
      open.queuedAs === writeQueue.queued() &&
      open.pending.length < this.maxBatch &&
      !open.users.has(pending.userId)
    ) {
      open.pending.push(pending);
      open.users.add(pending.userId);
      return;
    }
    const batch: OpenBatch = { pending: [pending], users: new Set([pending.userId]), queuedAs: 0, started: false };
    this.open.set(sku, batch);
    // run() queues its transaction before its first await; the batch closes when that starts.
    void this.run(batch.pending, () => {
      batch.started = true;
      if (this.open.get(sku) === batch) this.open.delete(sku);
    });
    batch.queuedAs = writeQueue.queued();
  }

  /** Starts a batch once the current I/O phase has queued everything it will. */
  private schedule(sku: string, queue: SkuQueue): void {
    if (queue.running >= this.maxInFlight || queue.scheduled) return;
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      const batch = this.take(queue);
      if (batch.length === 0) {
        if (queue.running === 0) this.queues.delete(sku);
        return;
      }
      queue.running++;
      void this.run(batch).finally(() => {
        queue.running--;
        if (queue.waiting.length > 0) this.schedule(sku, queue);
        else if (queue.running === 0) this.queues.delete(sku);
      });
    });
  }

  /** The next batch, in arrival order: at most maxBatch requests, one per user. */
  private take(queue: SkuQueue): Pending[] {
    const batch: Pending[] = [];
    const users = new Set<string>();
    const rest: Pending[] = [];
    for (const pending of queue.waiting) {
      if (batch.length < this.maxBatch && !users.has(pending.userId)) {
        users.add(pending.userId);
        batch.push(pending);
      } else {
        rest.push(pending);
      }
    }
    queue.waiting = rest;
    return batch;
  }

  private async run(batch: Pending[], onStart?: () => void): Promise<void> {
    const { transaction, events } = this.deps;
    const held = heldEvents(events);
    let decided: Decided;
    try {
      decided = await transaction(async (tx) => {
        onStart?.();
        held.reset();
        return this.decide(tx, batch, held.emit);
      });
    } catch (err) {
      // Nothing of the batch committed. A store fault is every request's answer (503); any other
      // failure may be one request's doing, so each runs alone and gets its own answer.
      if (err instanceof StoreUnavailableError) for (const pending of batch) pending.reject(err);
      else for (const pending of batch) this.runAlone(pending);
      return;
    }
    held.fire();
    for (const [pending, decision] of decided.decisions) {
      if (decision instanceof DomainError) pending.reject(decision);
      else pending.resolve(decision);
    }
    for (const pending of decided.alone) this.runAlone(pending);
  }

  private runAlone(pending: Pending): void {
    this.deps.alone(pending.userId, pending.line).then(pending.resolve, pending.reject);
  }

  /**
   * Each request is decided by the reserve policy from the batch's reads, as if the requests ran
   * one after another in arrival order: each takes its units if they are still there. What the
   * policy cannot decide from counts (a holder of the sku, a user with a due reservation) is left
   * to the one-at-a-time path.
   */
  private async decide(tx: StoreTx, batch: readonly Pending[], emit: Emit): Promise<Decided> {
    const [first] = batch;
    if (!first) return { decisions: new Map(), alone: [] };
    const { clock } = this.deps;
    const now = clock.now();
    const { sku } = first.line;

    // The same per-user rules as one reserve at a time: every user's lock first, then their standing.
    await tx.shoppers.lockAll(batch.map((p) => p.userId));
    const standings = new Map<string, UserStanding>(
      (await tx.shoppers.standings(batch.map((p) => p.userId), sku, now)).map((standing) => [standing.userId, standing]),
    );
    let product = await tx.products.get(sku);
    let released = false;
    let shared: Shared = { decisions: new Map(), alone: [], granted: [], refused: [], left: 0 };
    for (let round = 0; round < MAX_HOLD_ROUNDS; round++) {
      shared = this.shareOut(batch, standings, product, now);
      const { decisions, alone, granted, refused, left } = shared;
      if (!product || granted.length + refused.length === 0) return { decisions, alone };
      if (refused.length > 0 && !released) {
        released = true;
        if (await releasedDueUnits(tx, sku, now, emit)) {
          product = (await tx.products.get(sku)) ?? product;
          round--;
          continue;
        }
      }
      if (granted.length === 0 || (await tx.products.holdBatch(sku, granted.map((g) => g.reservation), now))) {
        for (const { pending, reservation } of granted) {
          decisions.set(pending, { reservation, replayed: false });
          emit('reservation.created', { reservation });
        }
        for (const { pending, available } of refused) {
          decisions.set(pending, insufficient(sku, pending.line.quantity, available));
        }
        if (refused.length > 0 && left === 0) await this.deps.soldOut?.(tx, product);
        return { decisions, alone };
      }
      // Another transaction took units since the read: read again and share out what is left.
      product = (await tx.products.get(sku)) ?? product;
    }
    const { decisions, alone, granted, refused } = shared;
    return { decisions, alone: [...alone, ...granted.map((g) => g.pending), ...refused.map((r) => r.pending)] };
  }

  /** One pass of the policy over the batch, in arrival order, against the units of `product` left at each turn. */
  private shareOut(
    batch: readonly Pending[],
    standings: ReadonlyMap<string, UserStanding>,
    product: Product | null,
    now: number,
  ): Shared {
    const shared: Shared = { decisions: new Map(), alone: [], granted: [], refused: [], left: product ? product.onHand - product.reserved : 0 };
    for (const pending of batch) {
      const read = standings.get(pending.userId);
      const standing: ShopperStanding | null = read
        ? { dueReservations: read.dueReservations, holding: read.liveHoldingSku, orderedUnits: () => read.orderedUnits }
        : null;
      const onSale = product ? [{ sku: product.sku, maxPerUser: product.maxPerUser, available: shared.left }] : [];
      const decision = standing ? decideReserve(standing, onSale, [pending.line]) : ({ kind: 'full-path' } as const);
      switch (decision.kind) {
        case 'refuse':
          shared.decisions.set(pending, decision.error);
          break;
        case 'short':
          shared.refused.push({ pending, available: decision.available });
          break;
        case 'hold':
          shared.left -= pending.line.quantity;
          // The policy holds only when the product exists.
          if (product) shared.granted.push({ pending, reservation: this.newReservation(pending, product, now) });
          break;
        default:
          // Lazy expiry or the duplicate rule: the one-at-a-time path reads what they need.
          shared.alone.push(pending);
      }
    }
    return shared;
  }

  private newReservation(pending: Pending, product: Product, now: number): Reservation {
    const items = [{ sku: product.sku, quantity: pending.line.quantity, unitPriceMinor: product.priceMinor }];
    return openReservation(this.deps.ids(), pending.userId, items, now, this.deps.reservationTtlMs);
  }
}
