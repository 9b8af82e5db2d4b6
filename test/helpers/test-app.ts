import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import type { FastifyBaseLogger, FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type Stockhold } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainEvents } from '../../src/domain/events.js';
import { prepareStore } from '../../src/startup/prepare-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { DocumentConformance } from './openapi-conformance.js';
import { openPostgresTestStore } from './postgres.js';

export const TTL_MS = 300_000;

const SILENT = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface TestApp extends Stockhold {
  clock: ManualClock;
  close(): Promise<void>;
}

/** Which store the suite runs on: the runner runs it once per store (TEST_STORE=sqlite|postgres). */
export const TEST_STORE = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** A fresh store per test, real SQLite in memory or a PostgreSQL schema of its own: nothing is shared. */
export function openTestStore(): Promise<Store> {
  return TEST_STORE === 'postgres' ? openPostgresTestStore() : Promise.resolve(new SqliteStore({ filename: ':memory:' }));
}

/** `store` defaults to a fresh one (openTestStore); the app closes it either way. */
export async function startTestApp(
  options: { seed?: boolean; env?: Record<string, string>; store?: Store; logger?: FastifyBaseLogger } = {},
): Promise<TestApp> {
  const clock = new ManualClock();
  // Rate limiting and the per-address connection cap off unless a test asks for them: every test
  // request comes from one address.
  // RESERVE_FAST_PATHS: the runner runs the model-based and concurrency suites once with the fast paths off.
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATABASE_URL: 'sqlite::memory:',
    RATE_LIMIT_MAX: '0',
    RESERVE_FAST_PATHS: process.env.RESERVE_FAST_PATHS ?? 'on',
    MAX_CONNECTIONS_PER_CLIENT: '1000000',
    ...options.env,
  });
  const store = options.store ?? (await openTestStore());
  // As the server does: prepare the store (start-up check, seeding), then build the app on it.
  const events = new DomainEvents();
  try {
    await prepareStore({ config, store, clock, events, logger: SILENT, seedDemoCatalog: options.seed ?? false });
  } catch (err) {
    await store.close();
    throw err;
  }
  const stockhold = await buildApp({ config, store, clock, ...(options.logger ? { logger: options.logger } : {}) });
  checkAnswersAgainstDocument(stockhold.app);
  return { ...stockhold, clock, close: () => stockhold.app.close() };
}

export interface JsonResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: LightMyRequestResponse['headers'];
  raw: string;
}

const wrap = (res: LightMyRequestResponse): JsonResponse => ({
  status: res.statusCode,
  body: res.body === '' ? undefined : JSON.parse(res.body),
  headers: res.headers,
  raw: res.body,
});

export async function post(t: Stockhold, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return wrap(await t.app.inject({ method: 'POST', url, payload: payload as object, headers }));
}

export async function get(t: Stockhold, url: string, headers: Record<string, string> = {}) {
  return wrap(await t.app.inject({ method: 'GET', url, headers }));
}

export async function createProduct(
  t: Stockhold,
  product: { sku: string; totalQuantity: number; price?: number; maxPerUser?: number | null; productName?: string },
) {
  const res = await post(t, '/inventory', { productName: `Product ${product.sku}`, price: 10, ...product });
  if (res.status !== 201) throw new Error(`creating ${product.sku} failed: ${res.raw}`);
  return res.body.data;
}

export async function reserve(t: Stockhold, userId: string, sku: string, quantity = 1, headers?: Record<string, string>) {
  return post(t, '/inventory/reserve', { userId, sku, quantity }, headers);
}

export async function productOf(t: Stockhold, sku: string) {
  return (await get(t, `/inventory/${sku}`)).body.data;
}

const conformanceByDocument = new Map<string, DocumentConformance>();

/**
 * From now on every `app.inject` answer is checked against the app's own OpenAPI document: an
 * undocumented status, body field or header fails the request's test at the call.
 */
export function checkAnswersAgainstDocument(app: FastifyInstance): void {
  const document = app.swagger() as Record<string, unknown>;
  const key = JSON.stringify(document);
  let conformance = conformanceByDocument.get(key);
  if (!conformance) {
    conformance = new DocumentConformance(document);
    conformanceByDocument.set(key, conformance);
  }
  const checker = conformance;
  const inject = app.inject.bind(app) as (options: InjectOptions | string) => Promise<LightMyRequestResponse>;
  const checked = async (options: InjectOptions | string) => {
    const res = await inject(options);
    const { method = 'GET', url = '/' } = typeof options === 'string' ? { url: options } : options;
    const violations = checker.violations(String(method), String(url), { status: res.statusCode, headers: res.headers, body: decodedBody(res) });
    assert.deepEqual(violations, [], 'the answer departs from GET /openapi.json');
    return res;
  };
  (app as unknown as { inject: typeof checked }).inject = checked;
}

/** The body as the document describes it: a compressed answer is checked once decompressed. */
function decodedBody(res: LightMyRequestResponse): string {
  const encoding = res.headers['content-encoding'];
  if (encoding === 'gzip') return gunzipSync(res.rawPayload).toString('utf8');
  if (encoding === 'br') return brotliDecompressSync(res.rawPayload).toString('utf8');
  if (encoding === 'deflate') return inflateSync(res.rawPayload).toString('utf8');
  return res.body;
}
