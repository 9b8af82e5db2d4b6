// Helpers for the multi-process PostgreSQL tests: a database of the test's own, several real
// server processes on it, HTTP with headers, and checks that read PostgreSQL directly.
import assert from 'node:assert/strict';
import { createTestDatabase, queryDatabase } from '../helpers/postgres.js';
import { http, startServer, type CleanupOwner, type HttpResult, type ServerProcess } from '../process/server-process.js';

/**
 * Cleanup steps run last-in first-out (children before the database they use), all of them even
 * when one fails. Pass it where the process helpers take a TestContext, and run it in after().
 */
export class Cleanups implements CleanupOwner {
  private readonly steps: Array<() => Promise<void> | void> = [];

  after(fn: () => Promise<void> | void): void {
    this.steps.push(fn);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

export interface TestDatabase {
  url: string;
  name: string;
}

/** A fresh database, dropped (WITH FORCE) when the owner cleans up. */
export async function testDatabase(owner: CleanupOwner): Promise<TestDatabase> {
  const db = await createTestDatabase();
  owner.after(() => db.drop());
  return { url: db.url, name: decodeURIComponent(new URL(db.url).pathname.slice(1)) };
}

/**
 * Starts `count` server processes on one database at once (they migrate and seed concurrently).
 * Five connections each keeps a suite's footprint well under max_connections (100 by default)
 * while other suites run beside it; override DATABASE_POOL_SIZE through env.
 */
export function startInstances(
  owner: CleanupOwner,
  databaseUrl: string,
  count: number,
  env: Record<string, string> = {},
): Promise<ServerProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startServer(owner, { databaseUrl, env: { LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '5', ...env } })));
}

export type Answer = HttpResult;

/** One HTTP call with optional extra headers; the body is kept raw for byte comparisons. */
export const send = http;

/** Fails with the whole answer unless the status is the expected one. */
export async function sendExpecting(
  status: number,
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Answer> {
  const res = await send(baseUrl, method, path, body, headers);
  assert.equal(res.status, status, `${method} ${path} on ${baseUrl}: ${res.raw}`);
  return res;
}

export async function createProduct(baseUrl: string, sku: string, totalQuantity: number, price = 9.99): Promise<void> {
  await sendExpecting(201, baseUrl, 'POST', '/inventory', { sku, productName: `Scale test ${sku}`, totalQuantity, price });
}

/** "201" / "400 INSUFFICIENT_INVENTORY" / ...: what a batch of answers looks like, for counting and messages. */
export const outcome = (res: Answer): string =>
  res.status < 300 ? String(res.status) : `${res.status} ${String(res.body?.code ?? res.raw.slice(0, 80))}`;

export function tally(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const res of answers) counts[outcome(res)] = (counts[outcome(res)] ?? 0) + 1;
  return counts;
}

export interface Counters {
  sku: string;
  onHand: number;
  reserved: number;
  sold: number;
}

export async function counters(url: string, sku: string): Promise<Counters> {
  const [row] = await queryDatabase<Counters>(
    url,
    'SELECT sku, on_hand AS "onHand", reserved, sold FROM products WHERE sku = $1',
    [sku],
  );
  assert.ok(row, `product ${sku} exists`);
  return row;
}

/**
 * Every product whose counters differ from the replay of its ledger, or from what its live
 * reservations hold. Empty when the books balance.
 */
export async function unbalancedProducts(url: string): Promise<unknown[]> {
  return queryDatabase(
    url,
    `WITH ledger AS (
       SELECT sku, SUM(delta_on_hand)::int AS on_hand, SUM(delta_reserved)::int AS reserved, SUM(delta_sold)::int AS sold
       FROM stock_movements GROUP BY sku),
     held AS (
       SELECT i.sku, SUM(i.quantity)::int AS reserved
       FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
       WHERE r.status = 'RESERVED' GROUP BY i.sku)
     SELECT p.sku, p.on_hand, p.reserved, p.sold,
       l.on_hand AS ledger_on_hand, l.reserved AS ledger_reserved, l.sold AS ledger_sold,
       COALESCE(h.reserved, 0) AS held_by_live_reservations
     FROM products p LEFT JOIN ledger l ON l.sku = p.sku LEFT JOIN held h ON h.sku = p.sku
     WHERE p.on_hand IS DISTINCT FROM COALESCE(l.on_hand, 0)
        OR p.reserved IS DISTINCT FROM COALESCE(l.reserved, 0)
        OR p.sold IS DISTINCT FROM COALESCE(l.sold, 0)
        OR p.reserved IS DISTINCT FROM COALESCE(h.reserved, 0)`,
  );
}

export async function assertBooksBalance(url: string): Promise<void> {
  assert.deepEqual(await unbalancedProducts(url), [], 'every product: counters = ledger replay = units held by live reservations');
}

/** Round-robin: the i-th request goes to the (i mod n)-th instance. */
export const pick = <T>(items: readonly T[], i: number): T => items[i % items.length] as T;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
