import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { DomainEvents, EventMap } from '../domain/events.js';
import type { IdGenerator } from '../domain/ids.js';
import type { Demand, Product, Reservation } from '../domain/types.js';
import type { ReserveBatchTx, Store, UserStanding } from '../storage/store.js';
import { StoreUnavailableError } from '../storage/store-errors.js';
import { expireByIds, insufficient, openReservation } from './reservation-lifecycle.js';
import type { Emit } from './unit-of-work.js';

/** What a reserve answers; the same shape as ReservationService's. */
export interface BatchedReserveResult {
  reservation: Reservation;
  replayed: boolean;
}

export interface ReserveBatcherDeps {
  /** The store's `batchTransaction`. */
  transaction: NonNullable<Store['batchTransaction']>;
  clock: Clock;
  ids: IdGenerator;
  events: DomainEvents;
  reservationTtlMs: number;
  /** The one-request-per-transaction path, for every request a batch does not decide itself. */
  alone(userId: string, line: Demand): Promise<BatchedReserveResult>;
  /**
   * The store's `transactionsQueued`, where transactions run one after another in arrival order
   * (SQLite). A batch then joins the store's queue at its first request, and later requests join
   * the batch only while nothing else has been queued behind it: a multi-line reserve or a cancel
   * that arrives between two one-line reserves is served between them.
   */
  transactionsQueued?: () => number;
  /** Called in the batch's transaction when it leaves a sku with nothing available and refused someone. */
  soldOut?: (tx: ReserveBatchTx, product: Product) => Promise<void>;
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
  /** `transactionsQueued()` right after this batch was queued. */
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
const DUE_SCAN_LIMIT = 1000;
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
 * while nothing else was queued behind it (`transactionsQueued`), so arrival order holds across
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
    const { transactionsQueued } = this.deps;
    if (transactionsQueued) return new Promise((resolve, reject) => this.joinInOrder({ userId, line, resolve, reject }, transactionsQueued));
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
  private joinInOrder(pending: Pending, transactionsQueued: () => number): void {
    const { sku } = pending.line;
    const open = this.open.get(sku);
    if (
      open &&
      !open.started &&
      open.queuedAs === transactionsQueued() &&
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
    batch.queuedAs = transactionsQueued();
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
    let pendingEvents: Array<() => void> = [];
    let decided: Decided;
    try {
      decided = await transaction(async (tx) => {
        onStart?.();
        // A deadlock retry runs this again: only the last attempt's events count.
        pendingEvents = [];
        const emit: Emit = (name, payload) => {
          if (name === 'stock.changed') events.emit('stock.released', payload as EventMap['stock.changed']);
          pendingEvents.push(() => events.emit(name, payload));
        };
        return this.decide(tx, batch, emit);
      });
    } catch (err) {
      // Nothing of the batch committed. A store fault is every request's answer (503); any other
      // failure may be one request's doing, so each runs alone and gets its own answer.
      if (err instanceof StoreUnavailableError) for (const pending of batch) pending.reject(err);
      else for (const pending of batch) this.runAlone(pending);
      return;
    }
    for (const fire of pendingEvents) fire();
    for (const [pending, decision] of decided.decisions) {
      if (decision instanceof DomainError) pending.reject(decision);
      else pending.resolve(decision);
    }
    for (const pending of decided.alone) this.runAlone(pending);
  }

  private runAlone(pending: Pending): void {
    this.deps.alone(pending.userId, pending.line).then(pending.resolve, pending.reject);
  }

  private async decide(tx: ReserveBatchTx, batch: readonly Pending[], emit: Emit): Promise<Decided> {
    const { clock } = this.deps;
    const now = clock.now();
    const sku = (batch[0] as Pending).line.sku;
    const decisions = new Map<Pending, Decision>();
    const alone: Pending[] = [];

    // The same per-user rules as one reserve at a time: every user's lock first, then their standing.
    await tx.lockUsers(batch.map((p) => p.userId));
    const standings = new Map<string, UserStanding>(
      (await tx.userStandings(batch.map((p) => p.userId), sku, now)).map((s) => [s.userId, s]),
    );
    let product = await tx.getProduct(sku);
    const eligible: Pending[] = [];
    for (const pending of batch) {
      const standing = standings.get(pending.userId);
      // A live reservation of this sku brings in the duplicate rule (an answer that takes no stock),
      // and a due one of any sku lazy expiry: not here. Live reservations of other skus change
      // nothing the batch decides, so their holders keep their turn in it.
      if (!standing || standing.liveHoldingSku > 0 || standing.dueReservations > 0) alone.push(pending);
      else if (!product) decisions.set(pending, new DomainError('PRODUCT_NOT_FOUND', 'Product not found', { sku }));
      else {
        const limitError = purchaseLimitError(product, standing, pending.line.quantity);
        if (limitError) decisions.set(pending, limitError);
        else eligible.push(pending);
      }
    }
    if (!product || eligible.length === 0) return { decisions, alone };

    let expiredDue = false;
    for (let round = 0; round < MAX_HOLD_ROUNDS; round++) {
      // Served one after another in arrival order: each takes its units if they are still there.
      let left = product.onHand - product.reserved;
      const granted: Array<{ pending: Pending; reservation: Reservation }> = [];
      const refused: Array<{ pending: Pending; available: number }> = [];
      for (const pending of eligible) {
        const { quantity } = pending.line;
        if (quantity <= left) {
          left -= quantity;
          granted.push({ pending, reservation: this.newReservation(pending, product, now) });
        } else {
          refused.push({ pending, available: left });
        }
      }
      // Stock held by an expired reservation is never refused: release what due ones of the sku hold.
      if (refused.length > 0 && !expiredDue) {
        expiredDue = true;
        const due = await tx.findDueReservationIds(now, DUE_SCAN_LIMIT, { sku });
        if ((await expireByIds(tx, due, now, emit)) > 0) {
          product = (await tx.getProduct(sku)) ?? product;
          round--;
          continue;
        }
      }
      if (granted.length === 0 || (await tx.holdBatch(sku, granted.map((g) => g.reservation), now))) {
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
      product = (await tx.getProduct(sku)) ?? product;
    }
    alone.push(...eligible);
    return { decisions, alone };
  }

  private newReservation(pending: Pending, product: Product, now: number): Reservation {
    const items = [{ sku: product.sku, quantity: pending.line.quantity, unitPriceMinor: product.priceMinor }];
    return openReservation(this.deps.ids(), pending.userId, items, now, this.deps.reservationTtlMs);
  }
}

/** The per-user limit for a user with no live reservation: units in orders plus the request. */
function purchaseLimitError(product: Product, standing: UserStanding, quantity: number): DomainError | null {
  const limit = product.maxPerUser;
  if (limit === null || standing.orderedUnits + quantity <= limit) return null;
  return new DomainError('PURCHASE_LIMIT_EXCEEDED', `At most ${limit} units of ${product.sku} per customer`, {
    sku: product.sku,
    maxPerUser: limit,
    alreadyHeld: standing.orderedUnits,
    requested: quantity,
  });
}
