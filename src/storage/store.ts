import type {
  Demand,
  NewProduct,
  NewStockMovement,
  Order,
  OrderStatus,
  PaymentStatus,
  Product,
  Reservation,
  ReservationStatus,
  StockMovement,
} from '../domain/types.js';

export interface IdempotencyRecord {
  principal: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
  /** null while the first request is still running. */
  statusCode: number | null;
  responseBody: string | null;
  createdAt: number;
  expiresAt: number;
  lockedUntil: number;
}

export type HoldResult = { ok: true } | { ok: false; sku: string; available: number };

/**
 * One product's counters as stored, next to what its history says they should be. Every figure
 * is computed by the store in one set-based read, so they all describe the same moment.
 */
export interface ProductBalance {
  sku: string;
  /** The counters on the product row. */
  onHand: number;
  reserved: number;
  sold: number;
  /** Each counter replayed from the ledger: the sum of its delta over the sku's movements. */
  ledgerOnHand: number;
  ledgerReserved: number;
  ledgerSold: number;
  /** The sum of on-hand plus sold deltas over RECEIVE and ADJUST movements: every unit that came in. */
  received: number;
  /** Units of the sku in the lines of RESERVED reservations. */
  liveReserved: number;
  /** Units of the sku in the lines of CONFIRMED or COMPLETED orders. */
  orderedSold: number;
}

/** Counters to write over a product's, with the ADJUST movement (if any) that keeps the ledger replaying to them. */
export interface StockCorrection {
  sku: string;
  onHand: number;
  reserved: number;
  sold: number;
  adjustment: { deltaOnHand: number; deltaReserved: number; deltaSold: number } | null;
}

/** Narrows a due-reservation scan to the reservations holding one sku. */
export type DueScope = { sku: string };

/** Products and their stock counters. Every counter change appends its ledger row, in the same transaction. */
/** What an edit may change on a product. */
export interface ProductDetails {
  productName: string;
  priceMinor: number;
  maxPerUser: number | null;
}

export interface ProductRepository {
  /** False, changing nothing, when the sku exists. Units on hand arrive with a RECEIVE movement. */
  insert(product: NewProduct, at: number): Promise<boolean>;
  updateDetails(sku: string, productName: string, priceMinor: number, at: number): Promise<void>;
  /** An admin's edit: name, price and purchase limit as given; stock is not touched. */
  update(sku: string, details: ProductDetails, at: number): Promise<void>;
  get(sku: string): Promise<Product | null>;
  /** The products of the skus that exist, in sku order. */
  getMany(skus: readonly string[]): Promise<Product[]>;
  /** Products after `afterSku` (all when null), in sku order. */
  list(afterSku: string | null, limit: number): Promise<Product[]>;
  count(): Promise<number>;
  /**
   * Guarded hold of every line, in the order given (callers sort by sku): each line takes its
   * units only if that many are on sale (on hand less reserved), as one atomic step. Stops at the
   * first line that does not fit; the caller's rollback undoes any earlier lines.
   */
  hold(demand: readonly Demand[], refId: string, at: number): Promise<HoldResult>;
  /**
   * Inserts one-line live reservations that all hold `sku` (the caller builds them so), with
   * their lines, and holds their total units in one guarded step, writing one RESERVE movement
   * per reservation (ref = its id, in the order given). All or nothing: when the total does not
   * fit, nothing is written and false is returned.
   */
  holdBatch(sku: string, reservations: readonly Reservation[], at: number): Promise<boolean>;
  /** Unguarded counter moves (release, expire, confirm, restock) with their movements. */
  move(movements: readonly NewStockMovement[]): Promise<void>;
}

/** The append-only stock ledger, and the balances it replays to. */
export interface LedgerRepository {
  /** One sku's movements before `beforeId` (all when null), newest first. */
  list(sku: string, beforeId: number | null, limit: number): Promise<StockMovement[]>;
  /**
   * Every product's balance, in sku order, from one set-based read (no per-sku loop). With
   * `lock`, no other transaction can move stock until this one ends, so a repair may write from
   * what it read.
   */
  balances(options?: { lock?: boolean }): Promise<ProductBalance[]>;
  /**
   * The reconciler's repair: overwrites each product's counters and appends its ADJUST movement,
   * if any. Nothing else writes counters without a movement of the same size.
   */
  correct(corrections: readonly StockCorrection[], refId: string, at: number): Promise<void>;
}

export interface ReservationRepository {
  /** The reservation with its lines. Its units are held separately (`products.hold`). */
  insert(reservation: Reservation): Promise<void>;
  get(id: string): Promise<Reservation | null>;
  /** Every live (RESERVED) reservation of a user, due ones included, with its lines, oldest first. */
  listLive(userId: string): Promise<Reservation[]>;
  /** Ids of live reservations due at `now` (expiry at or before it), optionally only those holding one sku. */
  findDue(now: number, limit: number, scope?: DueScope): Promise<string[]>;
  /**
   * The users holding live reservations of `sku`, due ones included, each once. null when more
   * than `limit` reservations hold it, or when the store cannot list them with a bounded amount
   * of work: the caller must then not rely on a list.
   */
  liveHolders(sku: string, limit: number): Promise<string[] | null>;
  /** When the earliest live reservation of any user and sku falls due; null when none is live. */
  earliestExpiry(): Promise<number | null>;
  /** Compare-and-set on status; false when the reservation was no longer in `from`. */
  move(id: string, from: ReservationStatus, to: ReservationStatus, at: number): Promise<boolean>;
}

/** Per-shopper locks and facts, across reservations and orders. */
export interface ShopperRepository {
  /**
   * Makes this transaction wait for any other transaction that locked the same user, until
   * it ends: per-user rules (one live reservation per sku, purchase limits) read, then write.
   */
  lock(userId: string): Promise<void>;
  /**
   * `lock` for every user given, in one step that takes the locks in one global order (so two
   * batches never deadlock on each other), duplicates ignored.
   */
  lockAll(userIds: readonly string[]): Promise<void>;
  /** One standing per distinct user given, for `sku` at `now`, in one read. */
  standings(userIds: readonly string[], sku: string, now: number): Promise<UserStanding[]>;
  /** Units of `sku` the user holds in live reservations plus confirmed or completed orders. */
  unitsHeld(userId: string, sku: string): Promise<number>;
}

export interface OrderRepository {
  /** The order with its lines. */
  insert(order: Order): Promise<void>;
  get(id: string): Promise<Order | null>;
  getByReservation(reservationId: string): Promise<Order | null>;
  /** Compare-and-set on status; false when the order was no longer in `from`. */
  move(id: string, from: OrderStatus, to: OrderStatus, paymentStatus: PaymentStatus, at: number): Promise<boolean>;
}

export interface IdempotencyRepository {
  get(principal: string, key: string): Promise<IdempotencyRecord | null>;
  /**
   * Claims the key: inserts the record when the key is free, or replaces one that has expired
   * (expiry at or before `now`) or was abandoned (no response, lock lapsed). Returns false,
   * changing nothing, when a live record holds the key (another request claimed it first).
   */
  claim(record: IdempotencyRecord, now: number): Promise<boolean>;
  complete(principal: string, key: string, statusCode: number, responseBody: string): Promise<void>;
  /**
   * Frees a key whose request had no effect. Only a pending record goes: a completed one means
   * the effect committed (say, just before the connection dropped) and must keep answering.
   */
  delete(principal: string, key: string): Promise<void>;
  /**
   * Frees every pending key at once; finished answers stay. Only sound when no request can be in
   * flight anywhere: at the start of the sole writer of the database.
   */
  releasePending(): Promise<number>;
  /** Deletes at most `limit` records expired at `now`. */
  prune(now: number, limit: number): Promise<number>;
}

/**
 * One transaction, by aggregate. Each repository is domain-shaped; the services compose them into
 * use cases, and everything done through them commits or rolls back together.
 */
export interface StoreTx {
  readonly products: ProductRepository;
  readonly ledger: LedgerRepository;
  readonly reservations: ReservationRepository;
  readonly shoppers: ShopperRepository;
  readonly orders: OrderRepository;
  readonly idempotency: IdempotencyRepository;
}

/** A user's standing for the per-user rules of a reserve, as read by `ShopperRepository.standings`. */
export interface UserStanding {
  userId: string;
  /** RESERVED reservations of the user, whatever their skus, due ones included. */
  liveReservations: number;
  /** Those of them with a line of the sku. */
  liveHoldingSku: number;
  /** Those of them due (expiry at or before now), whatever their skus. */
  dueReservations: number;
  /** Units of the sku in the user's CONFIRMED or COMPLETED orders. */
  orderedUnits: number;
}

/**
 * A store whose transactions run one after another in arrival order (SQLite's group commit) lets
 * callers see its queue. Elsewhere transactions run concurrently and there is no such order.
 */
export interface WriteQueue {
  /** True when no transaction is queued or running, so nothing that arrived earlier can still change the stock. */
  idle(): boolean;
  /**
   * How many transactions have been queued so far: a request may join a queued batch only while
   * nothing has been queued behind it, and arrival order then holds across every kind of write.
   */
  queued(): number;
  /**
   * How many times this queue threw away transactions whose bodies had already run to the end (a
   * group commit that failed). An in-memory hint derived inside such a body may describe a state
   * that never committed, so it drops what it holds when this count moves.
   */
  discards(): number;
}

/** What a store can promise, so callers ask for a property rather than for a kind of store. */
export interface StoreCapabilities {
  /**
   * This process is the only one writing the database: it sees every release (so an in-memory
   * sold-out hint stays sound), and at start-up nothing of another process can be in flight.
   */
  soleWriter: boolean;
}

export interface Store {
  /** For humans (the health answer); decisions read `capabilities`. */
  readonly kind: 'sqlite' | 'postgres';
  readonly capabilities: StoreCapabilities;
  /** Present where transactions run one after another in arrival order (SQLite). */
  readonly writeQueue?: WriteQueue;
  /**
   * Runs `fn` atomically: all of its writes commit together or none do. SQLite serialises
   * transactions in arrival order; PostgreSQL runs them concurrently, isolated by row locks
   * and compare-and-set guards, and may run `fn` again after a deadlock or serialisation
   * failure, so `fn` must have no effect outside the transaction.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Present where the store can copy itself, consistently, while it keeps serving (SQLite): the
   * copy is written to `destination`, a file that must not exist yet.
   */
  backup?(destination: string): Promise<OnlineBackup>;
  /** Resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What a finished online backup holds: enough to tell one copy from another at a glance. */
export interface OnlineBackup {
  file: string;
  bytes: number;
  /** The newest stock movement in the copy: every counter change up to it is in the copy. */
  lastLedgerId: number;
  /** When the copy was taken (ms since the epoch). */
  takenAt: number;
  durationMs: number;
}
