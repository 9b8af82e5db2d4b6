import type pg from 'pg';
import type { NewStockMovement, Reservation } from '../../domain/types.js';
import { HOLDER_SCAN_LIMIT, liveHoldersFromLedger, type RecordedHold } from '../live-holders.js';
import {
  toBalance,
  toIdempotencyRecord,
  toItem,
  toMovement,
  toOrder,
  toProduct,
  toReservation,
  type BalanceRow,
  type IdempotencyRow,
  type ItemRow,
  type MovementRow,
  type OrderRow,
  type ProductRow,
  type ReservationRow,
} from '../rows.js';
import type {
  IdempotencyRepository,
  LedgerRepository,
  OrderRepository,
  ProductRepository,
  ReservationRepository,
  ShopperRepository,
  StoreTx,
} from '../store.js';
import { pgQueries as q, type NamedQuery } from './queries.js';

// The reconciler reads every history in one statement: on a large store that may outlast the usual 5 s bound.
const BALANCES_STATEMENT_TIMEOUT = '120s';
// Advisory lock class for the per-user locks; the key is a hash of the user id.
const USER_LOCK_CLASS = 0x5708;

/** Sends a transaction's queries on its connection. */
interface Connection {
  rows<R>(statement: NamedQuery | string, values?: unknown[]): Promise<R[]>;
  count(statement: NamedQuery, values: unknown[]): Promise<number>;
}

/** The port's repositories on one transaction's connection. */
export function pgTransaction(client: pg.PoolClient): StoreTx {
  // The last query sent: the next waits for it.
  let last: Promise<unknown> = Promise.resolve();
  // One query at a time on the transaction's connection, whatever the caller awaits in parallel:
  // pg deprecates sending one while another runs. Queries still run in the order they were asked.
  const query = (statement: NamedQuery | string, values: unknown[] = []): Promise<pg.QueryResult> => {
    const config = typeof statement === 'string' ? statement : { ...statement, values };
    const next = last.then(() => client.query(config));
    last = next.catch(() => undefined);
    return next;
  };
  const db: Connection = {
    rows: async <R>(statement: NamedQuery | string, values?: unknown[]) => (await query(statement, values)).rows as R[],
    count: async (statement, values) => (await query(statement, values)).rowCount ?? 0,
  };
  return {
    products: pgProducts(db),
    ledger: pgLedger(db),
    reservations: pgReservations(db),
    shoppers: pgShoppers(db),
    orders: pgOrders(db),
    idempotency: pgIdempotency(db),
  };
}

const columnOf = <T, V>(list: readonly T[], pick: (item: T) => V): V[] => list.map(pick);

function pgProducts(db: Connection): ProductRepository {
  return {
    async insert(product, at) {
      const inserted = await db.count(q.insertProduct, [product.sku, product.productName, product.priceMinor, product.onHand, product.maxPerUser, at]);
      if (inserted === 0) return false;
      if (product.onHand > 0) await db.count(q.receive, [product.sku, product.onHand, at]);
      return true;
    },
    async updateDetails(sku, productName, priceMinor, at) {
      await db.count(q.updateProductDetails, [sku, productName, priceMinor, at]);
    },
    async update(sku, details, at) {
      await db.count(q.updateProduct, [sku, details.productName, details.priceMinor, details.maxPerUser, at]);
    },
    async get(sku) {
      const [row] = await db.rows<ProductRow>(q.getProduct, [sku]);
      return row ? toProduct(row) : null;
    },
    async getMany(skus) {
      return (await db.rows<ProductRow>(q.getProducts, [skus])).map(toProduct);
    },
    async list(afterSku, limit) {
      return (await db.rows<ProductRow>(q.listProducts, [afterSku ?? '', limit])).map(toProduct);
    },
    async count() {
      const [row] = await db.rows<{ n: number }>(q.countProducts, []);
      return row?.n ?? 0;
    },
    async hold(demand, refId, at) {
      for (const { sku, quantity } of demand) {
        if ((await db.count(q.hold, [sku, quantity, at, refId])) === 0) {
          const [row] = await db.rows<{ available: number }>(q.available, [sku]);
          return { ok: false, sku, available: row?.available ?? 0 };
        }
      }
      return { ok: true };
    },
    async holdBatch(sku, reservations, at) {
      if (reservations.length === 0) return true;
      const quantityOf = (r: Reservation) => r.items.reduce((sum, item) => sum + item.quantity, 0);
      const col = <V>(pick: (r: Reservation) => V) => columnOf(reservations, pick);
      const written = await db.count(q.holdBatch, [
        sku, col((r) => r.id), col((r) => r.userId), col(quantityOf), col((r) => r.items[0]?.unitPriceMinor ?? 0),
        col((r) => r.expiresAt), col((r) => r.createdAt), col((r) => r.updatedAt), at,
      ]);
      return written === reservations.length;
    },
    async move(movements) {
      if (movements.length === 0) return;
      const col = <K extends keyof NewStockMovement>(key: K) => columnOf(movements, (m) => m[key]);
      await db.count(q.move, [col('sku'), col('deltaOnHand'), col('deltaReserved'), col('deltaSold'), col('reason'), col('refId'), col('at')]);
    },
  };
}

function pgLedger(db: Connection): LedgerRepository {
  return {
    async list(sku, beforeId, limit) {
      return (await db.rows<MovementRow>(q.listMovements, [sku, beforeId ?? Number.MAX_SAFE_INTEGER, limit])).map(toMovement);
    },
    async balances(options) {
      // EXCLUSIVE blocks every writer of products (each stock move ends by writing one) but not
      // readers; it waits for the writers already in flight to commit, whose effects we then see.
      if (options?.lock) await db.rows('LOCK TABLE products IN EXCLUSIVE MODE');
      await db.rows(`SET LOCAL statement_timeout = '${BALANCES_STATEMENT_TIMEOUT}'`);
      return (await db.rows<BalanceRow>(q.productBalances, [])).map(toBalance);
    },
    async correct(corrections, refId, at) {
      if (corrections.length === 0) return;
      const col = <V>(pick: (c: (typeof corrections)[number]) => V) => columnOf(corrections, pick);
      await db.count(q.setCounters, [col((c) => c.sku), col((c) => c.onHand), col((c) => c.reserved), col((c) => c.sold), at]);
      const adjusted = corrections.filter((c) => c.adjustment !== null);
      if (adjusted.length === 0) return;
      const delta = (key: 'deltaOnHand' | 'deltaReserved' | 'deltaSold') => adjusted.map((c) => c.adjustment?.[key] ?? 0);
      await db.count(q.adjust, [adjusted.map((c) => c.sku), delta('deltaOnHand'), delta('deltaReserved'), delta('deltaSold'), refId, at]);
    },
  };
}

function pgReservations(db: Connection): ReservationRepository {
  const withItems = async (row: ReservationRow): Promise<Reservation> =>
    toReservation(row, (await db.rows<ItemRow>(q.reservationItems, [row.id])).map(toItem));
  return {
    async insert(r) {
      await db.count(q.insertReservation, [r.id, r.userId, r.status, r.expiresAt, r.createdAt, r.updatedAt, r.confirmedAt, r.cancelledAt, r.expiredAt]);
      await db.count(q.insertReservationItems, [r.id, r.items.map((i) => i.sku), r.items.map((i) => i.quantity), r.items.map((i) => i.unitPriceMinor)]);
    },
    async get(id) {
      const [row] = await db.rows<ReservationRow>(q.getReservation, [id]);
      return row ? withItems(row) : null;
    },
    async listLive(userId) {
      const live: Reservation[] = [];
      for (const row of await db.rows<ReservationRow>(q.liveReservations, [userId])) live.push(await withItems(row));
      return live;
    },
    async findDue(now, limit, scope) {
      const rows = scope ? await db.rows<{ id: string }>(q.dueForSku, [now, scope.sku, limit]) : await db.rows<{ id: string }>(q.dueAll, [now, limit]);
      return rows.map((row) => row.id);
    },
    async liveHolders(sku, limit) {
      const [product] = await db.rows<{ reserved: number }>(q.reservedOf, [sku]);
      // One more row than the walk may read, so a walk that would go past it still gives up.
      const holds = () => db.rows<RecordedHold>(q.holdsNewestFirst, [sku, HOLDER_SCAN_LIMIT + 1]);
      return liveHoldersFromLedger(product?.reserved ?? 0, holds, limit);
    },
    async earliestExpiry() {
      const [row] = await db.rows<{ earliest: number | null }>(q.earliestLiveExpiry, []);
      return row?.earliest ?? null;
    },
    async move(id, from, to, at) {
      return (await db.count(q.moveReservation, [id, from, to, at])) === 1;
    },
  };
}

function pgShoppers(db: Connection): ShopperRepository {
  return {
    async lock(userId) {
      await db.count(q.lockUser, [USER_LOCK_CLASS, userId]);
    },
    async lockAll(userIds) {
      if (userIds.length > 0) await db.count(q.lockUsers, [USER_LOCK_CLASS, userIds]);
    },
    async standings(userIds, sku, now) {
      if (userIds.length === 0) return [];
      const rows = await db.rows<{
        user_id: string;
        live_reservations: number;
        live_holding_sku: number;
        due_reservations: number;
        ordered_units: number;
      }>(q.userStandings, [userIds, sku, now]);
      return rows.map((row) => ({
        userId: row.user_id,
        liveReservations: row.live_reservations,
        liveHoldingSku: row.live_holding_sku,
        dueReservations: row.due_reservations,
        orderedUnits: row.ordered_units,
      }));
    },
    async unitsHeld(userId, sku) {
      const [row] = await db.rows<{ units: number }>(q.unitsHeldByUser, [userId, sku]);
      return row?.units ?? 0;
    },
  };
}

function pgOrders(db: Connection): OrderRepository {
  const withItems = async (row: OrderRow | undefined) =>
    row ? toOrder(row, (await db.rows<ItemRow>(q.orderItems, [row.id])).map(toItem)) : null;
  return {
    async insert(o) {
      await db.count(q.insertOrder, [o.id, o.userId, o.reservationId, o.totalMinor, o.status, o.paymentStatus, o.createdAt, o.updatedAt, o.cancelledAt, o.completedAt]);
      await db.count(q.insertOrderItems, [o.id, o.items.map((i) => i.sku), o.items.map((i) => i.quantity), o.items.map((i) => i.unitPriceMinor)]);
    },
    async get(id) {
      const [row] = await db.rows<OrderRow>(q.getOrder, [id]);
      return withItems(row);
    },
    async getByReservation(reservationId) {
      const [row] = await db.rows<OrderRow>(q.getOrderByReservation, [reservationId]);
      return withItems(row);
    },
    async move(id, from, to, payment, at) {
      return (await db.count(q.moveOrder, [id, from, to, payment, at])) === 1;
    },
  };
}

function pgIdempotency(db: Connection): IdempotencyRepository {
  return {
    async get(principal, key) {
      const [row] = await db.rows<IdempotencyRow>(q.getIdempotency, [principal, key]);
      return row ? toIdempotencyRecord(row) : null;
    },
    async claim(r, now) {
      const claimed = await db.count(q.claimIdempotency, [
        r.principal, r.key, r.method, r.path, r.requestHash, r.statusCode, r.responseBody, r.createdAt, r.expiresAt, r.lockedUntil, now,
      ]);
      return claimed === 1;
    },
    async complete(principal, key, statusCode, responseBody) {
      await db.count(q.completeIdempotency, [principal, key, statusCode, responseBody]);
    },
    async delete(principal, key) {
      await db.count(q.deleteIdempotency, [principal, key]);
    },
    async releasePending() {
      return db.count(q.releasePendingIdempotency, []);
    },
    async prune(now, limit) {
      return db.count(q.pruneIdempotency, [now, limit]);
    },
  };
}
