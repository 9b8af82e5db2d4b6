import Database from 'better-sqlite3';
import pg from 'pg';
import { systemClock } from '../../src/domain/clock.js';
import { DomainEvents } from '../../src/domain/events.js';
import { ReconciliationService, type ProductDrift } from '../../src/services/reconciliation.service.js';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';

/** What the database holds once the servers are stopped: every table the checks need. */
export interface StoreSnapshot {
  products: Array<{ sku: string; onHand: number; reserved: number; sold: number }>;
  reservations: Array<{ id: string; userId: string; status: string; expiresAt: number; createdAt: number }>;
  reservationItems: Array<{ reservationId: string; sku: string; quantity: number }>;
  orders: Array<{ id: string; userId: string; reservationId: string; status: string; paymentStatus: string; createdAt: number }>;
  orderItems: Array<{ orderId: string; sku: string; quantity: number }>;
  movements: Array<{ sku: string; reason: string; deltaOnHand: number; deltaReserved: number; deltaSold: number; refId: string | null }>;
  idempotencyKeys: Array<{ principal: string; key: string; statusCode: number | null; responseBody: string | null }>;
  /** What the reconciler (`npm run verify`) reports. */
  reconcilerDrifts: ProductDrift[];
  /** Wall-clock ms when it was read. */
  readAt: number;
}

const QUERIES = {
  products: 'SELECT sku, on_hand AS "onHand", reserved, sold FROM products',
  reservations: 'SELECT id, user_id AS "userId", status, expires_at AS "expiresAt", created_at AS "createdAt" FROM reservations',
  reservationItems: 'SELECT reservation_id AS "reservationId", sku, quantity FROM reservation_items',
  orders:
    'SELECT id, user_id AS "userId", reservation_id AS "reservationId", status, payment_status AS "paymentStatus", created_at AS "createdAt" FROM orders',
  orderItems: 'SELECT order_id AS "orderId", sku, quantity FROM order_items',
  movements:
    'SELECT sku, reason, delta_on_hand AS "deltaOnHand", delta_reserved AS "deltaReserved", delta_sold AS "deltaSold", ref_id AS "refId" FROM stock_movements ORDER BY id',
  idempotencyKeys: 'SELECT principal, key, status_code AS "statusCode", response_body AS "responseBody" FROM idempotency_keys',
} as const;

type Table = keyof typeof QUERIES;

/** node-postgres returns BIGINT as a string; the checks compare numbers. */
const NUMERIC = new Set(['onHand', 'reserved', 'sold', 'expiresAt', 'createdAt', 'quantity', 'deltaOnHand', 'deltaReserved', 'deltaSold', 'statusCode']);
function numbersOf<R>(rows: Array<Record<string, unknown>>): R[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(row)) out[field] = NUMERIC.has(field) && value !== null ? Number(value) : value;
    return out as R;
  });
}

async function reconcile(store: Store): Promise<ProductDrift[]> {
  try {
    return (await new ReconciliationService({ store, clock: systemClock, events: new DomainEvents() }).check()).drifts;
  } finally {
    await store.close();
  }
}

/** Reads a SQLite file no server has open any more: the reconciler first, then every table read-only. */
export async function readSqliteSnapshot(filename: string): Promise<StoreSnapshot> {
  const reconcilerDrifts = await reconcile(new SqliteStore({ filename }));
  const db = new Database(filename, { readonly: true });
  try {
    const read = (table: Table) => db.prepare(QUERIES[table]).all() as Array<Record<string, unknown>>;
    return snapshotOf(read, reconcilerDrifts);
  } finally {
    db.close();
  }
}

export async function readPostgresSnapshot(url: string): Promise<StoreSnapshot> {
  const reconcilerDrifts = await reconcile(await PgStore.open({ connectionString: url, poolSize: 2 }));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // One snapshot for every table, should anything still be writing.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables: Partial<Record<Table, Array<Record<string, unknown>>>> = {};
    for (const table of Object.keys(QUERIES) as Table[]) tables[table] = (await client.query(QUERIES[table])).rows;
    await client.query('COMMIT');
    return snapshotOf((table) => tables[table] ?? [], reconcilerDrifts);
  } finally {
    await client.end();
  }
}

function snapshotOf(read: (table: Table) => Array<Record<string, unknown>>, reconcilerDrifts: ProductDrift[]): StoreSnapshot {
  return {
    products: numbersOf(read('products')),
    reservations: numbersOf(read('reservations')),
    reservationItems: numbersOf(read('reservationItems')),
    orders: numbersOf(read('orders')),
    orderItems: numbersOf(read('orderItems')),
    movements: numbersOf(read('movements')),
    idempotencyKeys: numbersOf(read('idempotencyKeys')),
    reconcilerDrifts,
    readAt: Date.now(),
  };
}
