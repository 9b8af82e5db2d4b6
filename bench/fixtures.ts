// Fixtures written before a server starts: products through the Store port, history with plain SQL.
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { NewProduct, Reservation } from '../src/domain/types.js';
import { openStore } from '../src/storage/open-store.js';
import type { Store } from '../src/storage/store.js';
import type { BenchDatabase } from './databases.js';

export const HOT = 'HOT';
export const SOLDOUT = 'SOLDOUT';
export const SPREAD_COUNT = 10_000;
export const PRICE_MINOR = 1000;

export const spreadSku = (i: number): string => `SPREAD-${String(i).padStart(5, '0')}`;

/** Opens the bench database through stockhold's own Store (running its migrations). */
export async function openBenchStore(url: string): Promise<Store> {
  return openStore(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '2' }));
}

async function withStore<T>(url: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openBenchStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const product = (sku: string, onHand: number): NewProduct => ({
  sku,
  productName: `Bench ${sku}`,
  priceMinor: PRICE_MINOR,
  onHand,
  maxPerUser: null,
});

/** HOT (1e9 units), SOLDOUT (0) and, unless `hotOnly`, SPREAD-00000..SPREAD-09999 (1e6 each). */
export async function insertProducts(url: string, { hotOnly = false } = {}): Promise<void> {
  const products = [product(HOT, 1_000_000_000), product(SOLDOUT, 0)];
  if (!hotOnly) for (let i = 0; i < SPREAD_COUNT; i++) products.push(product(spreadSku(i), 1_000_000));
  await withStore(url, async (store) => {
    const at = Date.now();
    for (let i = 0; i < products.length; i += 1_000) {
      await store.transaction(async (tx) => {
        for (const p of products.slice(i, i + 1_000)) {
          if (!(await tx.products.insert(p, at))) throw new Error(`fixture product ${p.sku} already exists`);
        }
      });
    }
  });
}

const DAY_MS = 86_400_000;

/**
 * Writes `rows` finished reservations (CONFIRMED, EXPIRED, CANCELLED in turn), each with one
 * line of 1 × HOT, all in the past. They hold no units, so the counters and the ledger stay equal.
 */
export async function prefillHistory(db: BenchDatabase, rows: number): Promise<void> {
  if (rows === 0) return;
  const start = Date.now() - 30 * DAY_MS;
  if (db.kind === 'sqlite') {
    const conn = new Database(db.file);
    try {
      conn.pragma('journal_mode = WAL');
      const series = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})`;
      conn.transaction(() => {
        conn.exec(`INSERT INTO reservations
          (id, user_id, status, expires_at, created_at, updated_at, confirmed_at, cancelled_at, expired_at)
          ${series}
          SELECT 'hist-' || i, 'hist-user-' || (i % 100000), s, t + 300000, t, t + 1000,
            CASE s WHEN 'CONFIRMED' THEN t + 1000 END, CASE s WHEN 'CANCELLED' THEN t + 1000 END,
            CASE s WHEN 'EXPIRED' THEN t + 300000 END
          FROM (SELECT i, ${start} + i AS t,
            CASE i % 3 WHEN 0 THEN 'CONFIRMED' WHEN 1 THEN 'EXPIRED' ELSE 'CANCELLED' END AS s FROM n)`);
        conn.exec(`INSERT INTO reservation_items (reservation_id, sku, quantity, unit_price_minor)
          ${series} SELECT 'hist-' || i, '${HOT}', 1, ${PRICE_MINOR} FROM n`);
      })();
    } finally {
      conn.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO reservations
         (id, user_id, status, expires_at, created_at, updated_at, confirmed_at, cancelled_at, expired_at)
       SELECT 'hist-' || i, 'hist-user-' || (i % 100000), s, t + 300000, t, t + 1000,
         CASE s WHEN 'CONFIRMED' THEN t + 1000 END, CASE s WHEN 'CANCELLED' THEN t + 1000 END,
         CASE s WHEN 'EXPIRED' THEN t + 300000 END
       FROM (SELECT i, $1::bigint + i AS t,
         CASE i % 3 WHEN 0 THEN 'CONFIRMED' WHEN 1 THEN 'EXPIRED' ELSE 'CANCELLED' END AS s
         FROM generate_series(1, $2::int) AS i) AS h`,
      [start, rows],
    );
    await client.query(
      `INSERT INTO reservation_items (reservation_id, sku, quantity, unit_price_minor)
       SELECT 'hist-' || i, $1, 1, $2 FROM generate_series(1, $3::int) AS i`,
      [HOT, PRICE_MINOR, rows],
    );
    await client.query('COMMIT');
    // As a long-lived database would be: vacuumed and analysed, so autovacuum does not start mid-measurement.
    await client.query('VACUUM (ANALYZE) reservations, reservation_items');
  } finally {
    await client.end();
  }
}

/**
 * Writes `count` RESERVED reservations of 1 × HOT that fell due a minute ago, holding their
 * units through the Store port (so the ledger has their RESERVE rows), in one transaction.
 * Returns performance.now() taken right after that transaction committed.
 */
export async function insertDueReservations(url: string, count: number): Promise<number> {
  return withStore(url, async (store) => {
    await store.transaction(async (tx) => {
      const now = Date.now();
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        const reservation: Reservation = {
          id,
          userId: `due-${i}`,
          status: 'RESERVED',
          items: [{ sku: HOT, quantity: 1, unitPriceMinor: PRICE_MINOR }],
          expiresAt: now - 60_000,
          createdAt: now - 360_000,
          updatedAt: now - 360_000,
          confirmedAt: null,
          cancelledAt: null,
          expiredAt: null,
        };
        await tx.reservations.insert(reservation);
        const held = await tx.products.hold([{ sku: HOT, quantity: 1 }], id, now - 360_000);
        if (!held.ok) throw new Error(`could not hold ${HOT} for a due reservation`);
      }
    });
    return performance.now();
  });
}
