import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { DomainEvents } from '../domain/events.js';
import { invalidSku, isValidSku, normaliseSku } from '../domain/sku.js';
import type { NewProduct, Product, StockMovement } from '../domain/types.js';
import { isCheckViolation } from '../storage/store-errors.js';
import type { ProductDetails, Store, StoreTx } from '../storage/store.js';
import { DEMO_CATALOG } from './demo-catalog.js';
import { decodeCursor, invalidCursor, toPage, type PageOf } from './pagination.js';
import { atomically, commit, refuse, rollBack, type AfterEffect } from './unit-of-work.js';

export interface InventoryServiceDeps {
  store: Store;
  clock: Clock;
  events: DomainEvents;
}

/** A product's units on hand are capped where its creation caps them. */
export const MAX_ON_HAND = 1_000_000_000;

export interface StockChange {
  reason: 'RECEIVE' | 'ADJUST';
  /** Positive adds units on hand; negative (ADJUST only) removes unreserved ones. */
  delta: number;
}

export interface SeedResult {
  inserted: number;
  updated: number;
}

export class InventoryService {
  constructor(private readonly deps: InventoryServiceDeps) {}

  create(input: NewProduct, afterEffect?: AfterEffect<Product>): Promise<Product> {
    const sku = normaliseSku(input.sku);
    if (!isValidSku(sku)) throw invalidSku('sku');
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const now = clock.now();
      if (!(await tx.products.insert({ ...input, sku }, now))) {
        return refuse(new DomainError('PRODUCT_EXISTS', 'Product already exists', { sku }));
      }
      emit('stock.changed', { skus: [sku] });
      return commit(await readBack(tx, sku));
    }, afterEffect);
  }

  get(rawSku: string): Promise<Product> {
    const sku = normaliseSku(rawSku);
    return this.read(async (tx) => {
      const product = await tx.products.get(sku);
      return product ? commit(product) : refuse(productNotFound(sku));
    });
  }

  list(limit: number, cursor: string | undefined): Promise<PageOf<Product>> {
    const after = decodeCursor(cursor);
    return this.read(async (tx) => commit(toPage(await tx.products.list(after, limit + 1), limit, (p) => p.sku)));
  }

  /** The ledger for one sku, newest first. */
  movements(rawSku: string, limit: number, cursor: string | undefined): Promise<PageOf<StockMovement>> {
    const sku = normaliseSku(rawSku);
    const decoded = decodeCursor(cursor);
    const beforeId = decoded === null ? null : Number(decoded);
    if (beforeId !== null && !Number.isSafeInteger(beforeId)) throw invalidCursor();
    return this.read(async (tx) => {
      if (!(await tx.products.get(sku))) return refuse(productNotFound(sku));
      return commit(toPage(await tx.ledger.list(sku, beforeId, limit + 1), limit, (m) => m.id));
    });
  }

  /**
   * Inserts missing demo products and refreshes names and prices; never touches stock of a
   * product that exists, so running it twice changes nothing the second time.
   */
  seedDemoCatalog(): Promise<SeedResult> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx) => {
      const now = clock.now();
      const result: SeedResult = { inserted: 0, updated: 0 };
      for (const product of DEMO_CATALOG) {
        if (await tx.products.insert(product, now)) {
          result.inserted++;
          continue;
        }
        const current = await tx.products.get(product.sku);
        if (current && (current.productName !== product.productName || current.priceMinor !== product.priceMinor)) {
          await tx.products.updateDetails(product.sku, product.productName, product.priceMinor, now);
          result.updated++;
        }
      }
      return commit(result);
    });
  }

  /**
   * An admin's edit of name, price and purchase limit; what is left out stays. Stock is not
   * touched, so nothing goes to the ledger. Live reservations keep the price they were made at;
   * a lower limit refuses new reserves beyond it and leaves existing holds alone.
   */
  update(rawSku: string, changes: Partial<ProductDetails>, afterEffect?: AfterEffect<Product>): Promise<Product> {
    const sku = normaliseSku(rawSku);
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx) => {
      const before = await tx.products.get(sku);
      if (!before) return refuse(productNotFound(sku));
      const details: ProductDetails = {
        productName: changes.productName ?? before.productName,
        priceMinor: changes.priceMinor ?? before.priceMinor,
        maxPerUser: changes.maxPerUser === undefined ? before.maxPerUser : changes.maxPerUser,
      };
      const unchanged =
        details.productName === before.productName && details.priceMinor === before.priceMinor && details.maxPerUser === before.maxPerUser;
      // Idempotent: the same edit again changes nothing, not even updatedAt.
      if (unchanged) return commit(before);
      await tx.products.update(sku, details, clock.now());
      return commit(await readBack(tx, sku));
    }, afterEffect);
  }

  /**
   * Changes the units on hand with a ledger row: RECEIVE for a restock (positive), ADJUST for a
   * correction either way (a recount, damage, shrinkage). Units held by live reservations can't be
   * taken away, and a restock puts units on sale at once.
   */
  changeStock(rawSku: string, change: StockChange, afterEffect?: AfterEffect<Product>): Promise<Product> {
    const sku = normaliseSku(rawSku);
    const { store, clock, events } = this.deps;
    const delta = change.delta;
    let available = 0;
    const refused = () =>
      new DomainError('INSUFFICIENT_INVENTORY', 'Cannot remove units that are reserved or not on hand', {
        sku,
        requested: -delta,
        available,
      });
    return atomically(store, events, async (tx, emit) => {
      const before = await tx.products.get(sku);
      if (!before) return refuse(productNotFound(sku));
      available = before.onHand - before.reserved;
      if (delta < -available) return refuse(refused());
      // The schema's CHECK (reserved <= on_hand) is the guard that holds when a reserve races in
      // between the read and the move on PostgreSQL; it fails the move, caught below.
      await tx.products.move([{ sku, deltaOnHand: delta, deltaReserved: 0, deltaSold: 0, reason: change.reason, refId: null, at: clock.now() }]);
      const after = await readBack(tx, sku);
      if (after.onHand > MAX_ON_HAND) {
        // The move is undone: the refusal leaves the stock as it was.
        return rollBack(
          new DomainError('VALIDATION_ERROR', `units on hand would exceed ${MAX_ON_HAND}`, {
            errors: [{ field: change.reason === 'RECEIVE' ? 'quantity' : 'delta', message: `would take units on hand past ${MAX_ON_HAND}` }],
          }),
        );
      }
      if (delta > 0) emit('stock.changed', { skus: [sku] });
      return commit(after);
    }, afterEffect).catch((err: unknown) => {
      throw isCheckViolation(err) ? refused() : err;
    });
  }

  count(): Promise<number> {
    return this.read(async (tx) => commit(await tx.products.count()));
  }

  private read<T>(fn: Parameters<typeof atomically<T>>[2]): Promise<T> {
    return atomically(this.deps.store, this.deps.events, fn);
  }
}

const productNotFound = (sku: string): DomainError => new DomainError('PRODUCT_NOT_FOUND', 'Product not found', { sku });

/** The product this transaction just wrote: it is there, or the store is broken. */
async function readBack(tx: StoreTx, sku: string): Promise<Product> {
  const product = await tx.products.get(sku);
  if (!product) throw new Error(`product ${sku} vanished inside its own transaction`);
  return product;
}
