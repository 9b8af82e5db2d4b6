import type { NewStockMovement, Order, Reservation } from '../../domain/types.js';
import { liveHoldersFromLedger, type RecordedHold } from '../live-holders.js';
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
  UserStanding,
} from '../store.js';
import type { SqliteQueries } from './queries.js';

// The imports above match pg-repositories.ts: both adapters map the same rows into the same repositories.

/**
 * The port's repositories over the named statements. They run synchronously on the one
 * connection; the write queue decides which transaction they belong to.
 */
export function sqliteTransaction(queries: SqliteQueries): StoreTx {
  const insertMovement = (m: NewStockMovement): void => {
    queries.insertMovement.run(m.sku, m.deltaOnHand, m.deltaReserved, m.deltaSold, m.reason, m.refId, m.at);
  };
  const reservations = sqliteReservations(queries);
  return {
    products: sqliteProducts(queries, insertMovement, reservations),
    ledger: sqliteLedger(queries, insertMovement),
    reservations,
    shoppers: sqliteShoppers(queries),
    orders: sqliteOrders(queries),
    idempotency: sqliteIdempotency(queries),
  };
}

function sqliteProducts(
  q: SqliteQueries,
  insertMovement: (m: NewStockMovement) => void,
  reservations: ReservationRepository,
): ProductRepository {
  const get = async (sku: string) => {
    const row = q.getProduct.get(sku) as ProductRow | undefined;
    return row ? toProduct(row) : null;
  };
  return {
    async insert(product, at) {
      const { changes } = q.insertProduct.run(product.sku, product.productName, product.priceMinor, product.onHand, product.maxPerUser, at, at);
      if (changes === 0) return false;
      if (product.onHand > 0) {
        insertMovement({ sku: product.sku, deltaOnHand: product.onHand, deltaReserved: 0, deltaSold: 0, reason: 'RECEIVE', refId: null, at });
      }
      return true;
    },
    async updateDetails(sku, productName, priceMinor, at) {
      q.updateProductDetails.run(productName, priceMinor, at, sku, productName, priceMinor);
    },
    async update(sku, details, at) {
      q.updateProduct.run(details.productName, details.priceMinor, details.maxPerUser, at, sku);
    },
    get,
    async getMany(skus) {
      // Most reserves name one sku: a primary-key lookup beats unpacking a JSON array.
      if (skus.length === 1) {
        const product = await get(skus[0] ?? '');
        return product ? [product] : [];
      }
      return (q.getProducts.all(JSON.stringify(skus)) as ProductRow[]).map(toProduct);
    },
    async list(afterSku, limit) {
      return (q.listProducts.all(afterSku ?? '', limit) as ProductRow[]).map(toProduct);
    },
    async count() {
      return q.countProducts.get() as number;
    },
    async hold(demand, refId, at) {
      for (const { sku, quantity } of demand) {
        if (q.hold.run(quantity, at, sku, quantity).changes === 0) {
          const available = (q.available.get(sku) as number | undefined) ?? 0;
          return { ok: false, sku, available };
        }
        insertMovement({ sku, deltaOnHand: 0, deltaReserved: quantity, deltaSold: 0, reason: 'RESERVE', refId, at });
      }
      return { ok: true };
    },
    async holdBatch(sku, batch, at) {
      if (batch.length === 0) return true;
      const quantityOf = (r: Reservation) => r.items.reduce((sum, item) => sum + item.quantity, 0);
      const total = batch.reduce((sum, r) => sum + quantityOf(r), 0);
      if (q.hold.run(total, at, sku, total).changes === 0) return false;
      for (const r of batch) {
        await reservations.insert(r);
        insertMovement({ sku, deltaOnHand: 0, deltaReserved: quantityOf(r), deltaSold: 0, reason: 'RESERVE', refId: r.id, at });
      }
      return true;
    },
    async move(movements) {
      for (const m of movements) {
        q.move.run(m.deltaOnHand, m.deltaReserved, m.deltaSold, m.at, m.sku);
        insertMovement(m);
      }
    },
  };
}

function sqliteLedger(q: SqliteQueries, insertMovement: (m: NewStockMovement) => void): LedgerRepository {
  return {
    async list(sku, beforeId, limit) {
      return (q.listMovements.all(sku, beforeId ?? Number.MAX_SAFE_INTEGER, limit) as MovementRow[]).map(toMovement);
    },
    // Transactions never overlap on the one connection, so the read is already a frozen picture.
    async balances() {
      return (q.productBalances.all() as BalanceRow[]).map(toBalance);
    },
    async correct(corrections, refId, at) {
      for (const c of corrections) {
        q.setCounters.run(c.onHand, c.reserved, c.sold, at, c.sku);
        if (c.adjustment) insertMovement({ sku: c.sku, ...c.adjustment, reason: 'ADJUST', refId, at });
      }
    },
  };
}

function sqliteReservations(q: SqliteQueries): ReservationRepository {
  const withItems = (row: ReservationRow): Reservation =>
    toReservation(row, (q.reservationItems.all(row.id) as ItemRow[]).map(toItem));
  return {
    async insert(r) {
      q.insertReservation.run(r.id, r.userId, r.status, r.expiresAt, r.createdAt, r.updatedAt, r.confirmedAt, r.cancelledAt, r.expiredAt);
      for (const item of r.items) q.insertReservationItem.run(r.id, item.sku, item.quantity, item.unitPriceMinor);
    },
    async get(id) {
      const row = q.getReservation.get(id) as ReservationRow | undefined;
      return row ? withItems(row) : null;
    },
    async listLive(userId) {
      return (q.liveReservations.all(userId) as ReservationRow[]).map(withItems);
    },
    async findDue(now, limit, scope) {
      if (scope) return q.dueForSku.all(now, scope.sku, limit) as string[];
      return q.dueAll.all(now, limit) as string[];
    },
    async liveHolders(sku, limit) {
      const reserved = (q.reservedOf.get(sku) as number | undefined) ?? 0;
      return liveHoldersFromLedger(reserved, () => q.holdsNewestFirst.iterate(sku) as IterableIterator<RecordedHold>, limit);
    },
    async earliestExpiry() {
      return (q.earliestLiveExpiry.get() as number | null | undefined) ?? null;
    },
    async move(id, from, to, at) {
      return q.moveReservation.run({ id, from, to, at }).changes === 1;
    },
  };
}

// One connection serialises every transaction already: the per-user locks have nothing to do.
function sqliteShoppers(q: SqliteQueries): ShopperRepository {
  return {
    async lock() {},
    async lockAll() {},
    async standings(userIds, sku, now) {
      if (userIds.length === 0) return [];
      return q.userStandings.all({ sku, now, users: JSON.stringify(userIds) }) as UserStanding[];
    },
    async unitsHeld(userId, sku) {
      return q.unitsHeldByUser.get({ user: userId, sku }) as number;
    },
  };
}

function sqliteOrders(q: SqliteQueries): OrderRepository {
  const withItems = (row: OrderRow | undefined): Order | null =>
    row ? toOrder(row, (q.orderItems.all(row.id) as ItemRow[]).map(toItem)) : null;
  return {
    async insert(o) {
      q.insertOrder.run(o.id, o.userId, o.reservationId, o.totalMinor, o.status, o.paymentStatus, o.createdAt, o.updatedAt, o.cancelledAt, o.completedAt);
      for (const item of o.items) q.insertOrderItem.run(o.id, item.sku, item.quantity, item.unitPriceMinor);
    },
    async get(id) {
      return withItems(q.getOrder.get(id) as OrderRow | undefined);
    },
    async getByReservation(reservationId) {
      return withItems(q.getOrderByReservation.get(reservationId) as OrderRow | undefined);
    },
    async move(id, from, to, payment, at) {
      return q.moveOrder.run({ id, from, to, payment, at }).changes === 1;
    },
  };
}

function sqliteIdempotency(q: SqliteQueries): IdempotencyRepository {
  return {
    async get(principal, key) {
      const row = q.getIdempotency.get(principal, key) as IdempotencyRow | undefined;
      return row ? toIdempotencyRecord(row) : null;
    },
    async claim(record, now) {
      return q.claimIdempotency.run({ ...record, now }).changes === 1;
    },
    async complete(principal, key, statusCode, responseBody) {
      q.completeIdempotency.run(statusCode, responseBody, principal, key);
    },
    async delete(principal, key) {
      q.deleteIdempotency.run(principal, key);
    },
    async releasePending() {
      return q.releasePendingIdempotency.run().changes;
    },
    async prune(now, limit) {
      return q.pruneIdempotency.run(now, limit).changes;
    },
  };
}
