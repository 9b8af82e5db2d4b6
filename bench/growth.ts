// Growth: hot-sku and sweeper cost with a million historic reservations, against an empty database.
// Both servers run side by side and the measurements alternate between them in A-B-B-A order,
// so load from elsewhere on the machine, and any drift over the run, hit both sides alike.
import Database from 'better-sqlite3';
import type { BenchDatabase } from './databases.js';
import { HOT, insertDueReservations, insertProducts, prefillHistory } from './fixtures.js';
import { checkOversell, describeCheck } from './oversell-check.js';
import type { GrowthPass } from './results.js';
import { SCENARIO_SPECS, runScenario, type LoadSettings } from './scenarios.js';
import { startServer, type ServerProcess } from './server-process.js';

export const GROWTH_SWEEP_TRIALS = 3;
export const GROWTH_HOT_SKU_ROUNDS = 2;
const SWEEP_TIMEOUT_MS = 120_000;
const POLL_MS = 5;

async function reservedOfHot(server: ServerProcess): Promise<number> {
  let res: Response;
  try {
    res = await fetch(`${server.baseUrl}/inventory/${HOT}`);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(`GET /inventory/${HOT}: ${String(cause ?? err)}; ${server.state()}`);
  }
  if (res.status !== 200) throw new Error(`GET /inventory/${HOT}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: { reservedQuantity: number } }).data.reservedQuantity;
}

/**
 * Commits `count` due reservations of HOT from this process while the server runs with
 * CLEANUP_INTERVAL=50, and measures how long until the server's sweeper has released them all.
 */
async function sweepTrial(server: ServerProcess, url: string, count: number): Promise<number> {
  const before = await reservedOfHot(server);
  const committed = await insertDueReservations(url, count);
  for (;;) {
    if ((await reservedOfHot(server)) <= before) return performance.now() - committed;
    if (performance.now() - committed > SWEEP_TIMEOUT_MS) {
      throw new Error(`the sweeper did not expire ${count} due reservations within ${SWEEP_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

interface Side {
  historic: number;
  db: BenchDatabase;
  server: ServerProcess | null;
  pass: GrowthPass;
}

/** Fixtures and history, with the SQLite WAL folded back into the file so neither side starts with a checkpoint owed. */
async function prepare(db: BenchDatabase, historic: number, log: (line: string) => void): Promise<void> {
  await insertProducts(db.url, { hotOnly: true });
  const started = performance.now();
  await prefillHistory(db, historic);
  if (historic > 0) log(`  prefilled ${historic} historic reservations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (db.kind === 'sqlite') {
    const conn = new Database(db.file);
    conn.pragma('wal_checkpoint(TRUNCATE)');
    conn.close();
  }
}

export async function runGrowth(
  dbs: readonly [BenchDatabase, BenchDatabase],
  env: Record<string, string>,
  historic: number,
  dueReservations: number,
  settings: LoadSettings,
  log: (line: string) => void,
): Promise<[GrowthPass, GrowthPass]> {
  const sides: Side[] = [0, historic].map((h, i) => ({
    historic: h,
    db: dbs[i] as BenchDatabase,
    server: null,
    pass: { historicReservations: h, hotSkuRounds: [], hotSkuRps: 0, sweepTrialsMs: [], sweepMedianMs: 0, dueReservations, oversell: '', oversellOk: false, peakRss: [] },
  }));
  try {
    for (const side of sides) {
      await prepare(side.db, side.historic, log);
      side.server = await startServer(`stockhold (growth, ${side.historic} historic)`, 'src/server.ts', {
        ...env,
        DATABASE_URL: side.db.url,
        CLEANUP_INTERVAL: '50',
      });
    }
    const running = (side: Side) => side.server as ServerProcess;
    // A-B, B-A, A-B...: a steady drift over the run (the database growing, load elsewhere) then weighs on both sides alike.
    const inTurn = (i: number) => (i % 2 === 0 ? sides : [...sides].reverse());
    for (let i = 0; i < GROWTH_SWEEP_TRIALS; i++) {
      for (const side of inTurn(i)) side.pass.sweepTrialsMs.push(await sweepTrial(running(side), side.db.url, dueReservations));
    }
    for (const side of sides) {
      side.pass.sweepMedianMs = median(side.pass.sweepTrialsMs);
      log(`  sweeper, ${side.historic} historic: ${dueReservations} due reservations expired in ${side.pass.sweepTrialsMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    }
    for (let round = 1; round <= GROWTH_HOT_SKU_ROUNDS; round++) {
      for (const side of inTurn(round - 1)) {
        const m = await runScenario(running(side).baseUrl, SCENARIO_SPECS['hot-sku'], `growth-${round}`, settings);
        side.pass.hotSkuRounds.push(m);
        log(`  hot-sku, ${side.historic} historic, round ${round}: ${m.rps.toFixed(0)} req/s, p99 ${m.p99Ms.toFixed(1)} ms`);
      }
    }
    for (const side of sides) {
      const rounds = side.pass.hotSkuRounds;
      side.pass.hotSkuRps = rounds.reduce((sum, m) => sum + m.rps, 0) / rounds.length;
      const check = await checkOversell(side.db);
      side.pass.oversell = describeCheck(check);
      side.pass.oversellOk = check.ok;
      side.pass.peakRss = running(side).peakRss();
    }
  } finally {
    for (const side of sides) await side.server?.stop();
  }
  return [sides[0]?.pass as GrowthPass, sides[1]?.pass as GrowthPass];
}
