import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanups } from '../scale/scale-helpers.js';
import { checkHistory, type CheckReport } from './checker.js';
import { TortureClient } from './client.js';
import { Fleet, scratchPostgresDatabase, StartupError } from './cluster.js';
import { History, operationOutcome, type Operation } from './history.js';
import { nemesis, virtualUser, type KillEvent } from './load.js';
import { Prng } from './prng.js';
import { readPostgresSnapshot, readSqliteSnapshot, type StoreSnapshot } from './state.js';

export interface TortureOptions {
  store: 'sqlite' | 'postgres';
  /** How long the load runs; it goes on past this until every planned kill has happened. */
  durationMs: number;
  kills: number;
  seed: number;
  /** Server processes; more than one needs PostgreSQL. */
  instances: number;
  /** A PostgreSQL URL through which a scratch database is created and dropped. */
  postgresUrl?: string;
  users: number;
  ttlMs: number;
  cleanupIntervalMs: number;
  /** Progress lines (to stderr from the CLI, nowhere from the test). */
  log?: (line: string) => void;
}

export const DEFAULTS = {
  durationMs: 60_000,
  kills: 12,
  instances: 3,
  users: 30,
  ttlMs: 1_500,
  cleanupIntervalMs: 200,
} as const;

export interface TortureResult {
  options: TortureOptions;
  elapsedMs: number;
  kills: KillEvent[];
  fleet: { kills: number; restarts: number; restartMs: number[] };
  operations: readonly Operation[];
  products: ReadonlyMap<string, number>;
  report: CheckReport;
  /** Counts from the final store. */
  stored: { reservations: number; orders: number; movements: number };
}

/**
 * What a restart costs here (tsx compiles the server as it starts), used to space the kills so
 * they spread over the duration. A constant, not a measurement: the kill delays then depend on
 * the seed, the duration and the kill count only.
 */
const EXPECTED_RESTART_MS = 2_500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One torture run: a real server (or several on PostgreSQL) on a file database, products with
 * small stock, shoppers hammering it while the nemesis kills -9 and restarts, then one last crash
 * and restart once every hold is due, and the checker over the history and the final store.
 */
export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const log = options.log ?? (() => undefined);
  if (options.store === 'sqlite' && options.instances !== 1) throw new Error('SQLite is one process: run --instances 1');
  const cleanups = new Cleanups();
  const started = performance.now();
  try {
    const database = await prepareDatabase(options, cleanups);
    const prng = new Prng(options.seed);
    const history = new History();
    const env = {
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      RESERVATION_TTL: String(options.ttlMs),
      CLEANUP_INTERVAL: String(options.cleanupIntervalMs),
      // Every restart reconciles before it serves, so drift left by a crash stops the run right there.
      STARTUP_CHECK: 'refuse',
      SQLITE_SYNCHRONOUS: 'full',
      DATABASE_POOL_SIZE: '5',
      // The torture is the only client and must not be throttled, nor capped in connections.
      RATE_LIMIT_MAX: '0',
      MAX_CONNECTIONS_PER_CLIENT: '1000000',
    };
    log(`starting ${options.instances} server(s) on ${database.label}`);
    const fleet = await Fleet.start(cleanups, { databaseUrl: database.url, instances: options.instances, env });
    const client = new TortureClient(history, fleet, { timeoutMs: 10_000, retryBudgetMs: 10_000 });

    const products = await createProducts(client, prng, options.durationMs);
    log(`products: ${[...products].map(([sku, units]) => `${sku}=${units}`).join(' ')}`);

    let stopping = false;
    const ctx = { client, skus: [...products.keys()], ttlMs: options.ttlMs, keyPrefix: `t${options.seed}`, shouldStop: () => stopping };
    // Each shopper's generator is forked before any runs, so its choices depend on the seed only.
    const shoppers = Array.from({ length: options.users }, (_, i) => ({ userId: `shopper-${String(i).padStart(2, '0')}`, prng: prng.fork() }));
    const users = shoppers.map(({ userId, prng: own }) => virtualUser(ctx, userId, own));
    const loadStarted = performance.now();
    const kills: KillEvent[] = [];
    // A restart that fails (the start-up check refusing drift a crash left behind) is a finding, not a crash of the torture.
    const restartFailures: string[] = [];
    await nemesis(fleet, { kills: options.kills, durationMs: options.durationMs, expectedRestartMs: EXPECTED_RESTART_MS }, prng.fork(), () => history.now(), kills).catch(
      (err: unknown) => restartFailures.push(`during the load: ${err instanceof Error ? err.message : String(err)}`),
    );
    log(`${kills.length} kills done at ${Math.round((performance.now() - loadStarted) / 1000)} s`);
    const left = options.durationMs - (performance.now() - loadStarted);
    if (left > 0 && restartFailures.length === 0) await sleep(left);
    stopping = true;
    await Promise.all(users);
    log(`load stopped after ${history.operations.length} operations`);

    if (restartFailures.length === 0) {
      // Every hold falls due, then one last crash: the restart's start-up sweep expires them all
      // and its start-up check reconciles the books before it serves.
      await sleep(options.ttlMs + 2 * options.cleanupIntervalMs + 200);
      try {
        for (let i = 0; i < fleet.size; i++) await fleet.kill(i);
        await fleet.restart(0);
      } catch (err) {
        restartFailures.push(`after the load: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (let i = 0; i < fleet.size; i++) await fleet.stop(i);

    const state = await database.read();
    const report = checkHistory({ operations: history.operations, received: products, state, expectSwept: restartFailures.length === 0 });
    report.violations.unshift(...restartFailures.map((message) => ({ rule: 'restart' as const, message: `a restart failed ${message}` })));
    return {
      options,
      elapsedMs: performance.now() - started,
      kills,
      fleet: { kills: fleet.kills, restarts: fleet.restarts, restartMs: fleet.restartMs },
      operations: history.operations,
      products,
      report,
      stored: summarise(state),
    };
  } finally {
    await cleanups.run();
  }
}

function summarise(state: StoreSnapshot) {
  return { reservations: state.reservations.length, orders: state.orders.length, movements: state.movements.length };
}

async function prepareDatabase(options: TortureOptions, cleanups: Cleanups) {
  if (options.store === 'postgres') {
    if (!options.postgresUrl) throw new Error('PostgreSQL needs --database-url or TEST_DATABASE_URL');
    const url = await scratchPostgresDatabase(cleanups, options.postgresUrl);
    return { url, label: `PostgreSQL database ${new URL(url).pathname.slice(1)}`, read: () => readPostgresSnapshot(url) };
  }
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-torture-'));
  cleanups.after(() => rmSync(dir, { recursive: true, force: true }));
  const filename = join(dir, 'stockhold.db');
  return { url: `sqlite:${filename}`, label: filename, read: () => readSqliteSnapshot(filename) };
}

/** A handful of products with little stock, so shoppers contend for every unit. */
async function createProducts(client: TortureClient, prng: Prng, durationMs: number): Promise<Map<string, number>> {
  const products = new Map<string, number>();
  // Two skus a few units deep, where holds fight over every unit, and four deep enough (more for
  // a longer run) that shoppers still find stock to confirm, pay for and cancel until the end.
  const deep = Math.max(1, Math.round(durationMs / 30_000));
  const depths = [prng.int(2, 4), prng.int(5, 10), ...Array.from({ length: 4 }, () => prng.int(40, 100) * deep)];
  for (const [index, totalQuantity] of depths.entries()) {
    const i = index + 1;
    const sku = `TORTURE-${i}`;
    const { answer } = await client.perform(
      {
        userId: 'admin',
        kind: 'create-product',
        method: 'POST',
        path: '/inventory',
        body: { sku, productName: `Torture ${i}`, totalQuantity, price: prng.int(100, 99_999) / 100 },
        idempotencyKey: `create-${sku}`,
      },
      prng,
    );
    if (answer?.status !== 201) throw new StartupError(`could not create ${sku}: ${answer?.status ?? 'no answer'} ${answer?.raw ?? ''}`);
    products.set(sku, totalQuantity);
  }
  return products;
}

/** Counts for the summary: operations and attempts by outcome, and answers by status and code. */
export function tallies(operations: readonly Operation[]) {
  const operationsByOutcome: Record<string, number> = { ok: 0, fail: 0, info: 0 };
  const attemptsByOutcome: Record<string, number> = { ok: 0, fail: 0, info: 0 };
  const answers: Record<string, number> = {};
  const retried = operations.filter((op) => op.attempts.length > 1).length;
  for (const op of operations) {
    const outcome = operationOutcome(op);
    operationsByOutcome[outcome] = (operationsByOutcome[outcome] ?? 0) + 1;
    for (const a of op.attempts) {
      const type = a.type ?? 'info';
      attemptsByOutcome[type] = (attemptsByOutcome[type] ?? 0) + 1;
      const label = a.status !== undefined ? `${a.status}${a.status >= 300 && a.body?.code ? ` ${a.body.code}` : ''}` : (a.error ?? 'in flight');
      answers[label] = (answers[label] ?? 0) + 1;
    }
  }
  return { operationsByOutcome, attemptsByOutcome, answers, retried, attempts: operations.reduce((n, op) => n + op.attempts.length, 0) };
}
