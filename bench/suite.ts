// The bench suite: the ceiling, every scenario on every store configuration, the half-rate
// latency, the naive PostgreSQL baseline and the growth scenario, each server in its own process.
import { freshSqlite, PgAdmin, type BenchDatabase } from './databases.js';
import { insertProducts } from './fixtures.js';
import { runGrowth } from './growth.js';
import type { BenchOptions, ScenarioName, StoreName } from './options.js';
import { checkOversell, describeCheck } from './oversell-check.js';
import { rowLine, say } from './report.js';
import type { BenchResults, ConfigResult, GrowthResult, HalfRateResult, ScenarioRow } from './results.js';
import { load, runScenario, SCENARIO_SPECS, type LoadSettings, type Measurement, type ScenarioId } from './scenarios.js';
import { startServer, type ServerProcess } from './server-process.js';

const SERVER = 'src/server.ts';

/** Pinned so a developer's .env cannot change what is measured. */
const BASE_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  // Not 'production': that demands authentication, and the bench measures the reservation path,
  // not JWT verification (which a deployment may also do at its edge).
  NODE_ENV: 'benchmark',
  AUTH_MODE: 'off',
  RESERVATION_TTL: '300000',
  CLEANUP_INTERVAL: '1000',
  DATABASE_POOL_SIZE: '10',
  WORKERS: '1',
  SQLITE_SYNCHRONOUS: 'full',
  // One load generator is one client address: the bench measures the service, not its rate limiter
  // nor its per-address connection cap (--connections may go past the default 100).
  RATE_LIMIT_MAX: '0',
  MAX_CONNECTIONS_PER_CLIENT: '1000000',
  // BENCH_SERVER_ENV="LOG_LEVEL=info,ACCESS_LOG=off" overrides these for one run (to price a feature).
  ...Object.fromEntries(
    (process.env.BENCH_SERVER_ENV ?? '')
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()]),
  ),
};

const CONFIGS: Record<StoreName, { kind: 'sqlite' | 'postgres'; env: Record<string, string> }> = {
  'sqlite-full': { kind: 'sqlite', env: { SQLITE_SYNCHRONOUS: 'full' } },
  'sqlite-normal': { kind: 'sqlite', env: { SQLITE_SYNCHRONOUS: 'normal' } },
  'pg-1': { kind: 'postgres', env: { WORKERS: '1' } },
  'pg-workers2': { kind: 'postgres', env: { WORKERS: '2' } },
};

const STORE_SCENARIOS: readonly ScenarioId[] = ['hot-sku', 'spread', 'sold-out', 'checkout', 'reads'];

export class Bench {
  readonly settings: LoadSettings;
  readonly rows: ScenarioRow[] = [];
  readonly configs: ConfigResult[] = [];
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  ceiling: Measurement | null = null;
  ceilingServer: ServerProcess | null = null;
  halfRate: HalfRateResult | null = null;
  naiveBaseline: BenchResults['naiveBaseline'] = null;
  readonly growth: GrowthResult[] = [];
  pg: PgAdmin | null = null;

  constructor(readonly options: BenchOptions) {
    this.settings = { connections: options.connections, pipelining: options.pipelining, durationS: options.durationS, warmupS: options.warmupS };
  }

  wants(name: ScenarioName): boolean {
    return this.options.only.has(name);
  }

  fail(message: string): void {
    this.failures.push(message);
    say(`  FAILED: ${message}`);
  }

  async measureCeiling(): Promise<void> {
    say('== ceiling (bench/ceiling-server.ts) ==');
    this.ceilingServer = await startServer('ceiling server', 'bench/ceiling-server.ts', {});
    this.ceiling = await runScenario(this.ceilingServer.baseUrl, SCENARIO_SPECS.ceiling, 'ceiling', this.settings);
    this.record({ config: 'http', scenario: 'ceiling', title: SCENARIO_SPECS.ceiling.title, measurement: this.ceiling, ratio: 1, oversell: null, oversellOk: true, peakRssMb: null });
  }

  record(row: ScenarioRow): void {
    this.rows.push(row);
    say(rowLine(row));
    if (row.oversell !== null && !row.oversellOk) this.failures.push(`${row.config} ${row.scenario}: oversell check: ${row.oversell}`);
    if (row.measurement.requests === 0) this.fail(`${row.config} ${row.scenario}: no request completed`);
  }

  ratio(m: Measurement): number | null {
    return this.ceiling && this.ceiling.rps > 0 ? m.rps / this.ceiling.rps : null;
  }

  async freshDatabase(kind: 'sqlite' | 'postgres', label: string): Promise<BenchDatabase> {
    if (kind === 'sqlite') return freshSqlite(label);
    if (!this.pg) throw new Error('PostgreSQL is not available');
    return this.pg.fresh(label);
  }

  async runConfiguration(name: StoreName): Promise<void> {
    const { kind, env: own } = CONFIGS[name];
    const env = { ...BASE_ENV, ...own };
    const result: ConfigResult = { name, env: own, peakRss: [] };
    this.configs.push(result);
    // half-rate needs the SQLite FULL hot-sku peak, so it brings hot-sku along.
    const halfRate = name === 'sqlite-full' && this.wants('half-rate');
    const scenarios = STORE_SCENARIOS.filter((s) => this.wants(s) || (s === 'hot-sku' && halfRate));
    if (scenarios.length === 0) {
      result.skipped = 'no scenario selected';
      return;
    }
    say(`== ${name} (${Object.entries(own).map(([k, v]) => `${k}=${v}`).join(' ')}) ==`);
    if (kind === 'postgres' && !this.pg) {
      result.skipped = 'PostgreSQL unreachable';
      say('  skipped: PostgreSQL unreachable');
      return;
    }
    let db: BenchDatabase | null = null;
    let server: ServerProcess | null = null;
    try {
      db = await this.freshDatabase(kind, name.replace(/-/g, '_'));
      const t0 = performance.now();
      await insertProducts(db.url);
      say(`  fixtures: HOT, SOLDOUT and 10,000 SPREAD products in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      server = await startServer(`stockhold ${name}`, SERVER, { ...env, DATABASE_URL: db.url });
      for (const scenario of scenarios) {
        const spec = SCENARIO_SPECS[scenario];
        const measurement = await runScenario(server.baseUrl, spec, `${name}-${scenario}`, this.settings);
        const check = await checkOversell(db);
        const peak = Math.max(0, ...server.peakRss().filter((p) => p.role !== 'helper').map((p) => p.peakRssMb));
        this.record({ config: name, scenario, title: spec.title, measurement, ratio: this.ratio(measurement), oversell: describeCheck(check), oversellOk: check.ok, peakRssMb: peak || null });
        if (scenario === 'hot-sku' && halfRate) await this.measureHalfRate(server, db, measurement);
      }
      result.peakRss = server.peakRss();
      say(`  peak RSS: ${result.peakRss.map((p) => `${p.role === 'helper' ? `helper ${p.command}` : p.role} ${p.pid} ${p.peakRssMb.toFixed(0)} MB`).join(', ')}`);
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      this.fail(`${name}: ${result.error}`);
    } finally {
      await server?.stop();
      await db?.drop().catch((err: unknown) => this.fail(`${name}: dropping the database: ${String(err)}`));
    }
  }

  /** hot-sku and the ceiling, both held to half the hot-sku peak with autocannon's overallRate. */
  async measureHalfRate(server: ServerProcess, db: BenchDatabase, peak: Measurement): Promise<void> {
    if (!this.ceilingServer) return;
    const overallRate = Math.max(1, Math.round(peak.rps / 2));
    const settings = { ...this.settings, overallRate };
    const hotSku = await load(server.baseUrl, SCENARIO_SPECS['hot-sku'], 'sqlite-full-half-rate', settings);
    const check = await checkOversell(db);
    const ceiling = await load(this.ceilingServer.baseUrl, SCENARIO_SPECS.ceiling, 'half-rate', settings);
    this.halfRate = { overallRate, hotSku, ceiling };
    const title = `held to ${overallRate} req/s (autocannon overallRate)`;
    this.record({ config: 'sqlite-full', scenario: 'hot-sku ½ rate', title, measurement: hotSku, ratio: null, oversell: describeCheck(check), oversellOk: check.ok, peakRssMb: null });
    this.record({ config: 'http', scenario: 'ceiling ½ rate', title, measurement: ceiling, ratio: null, oversell: null, oversellOk: true, peakRssMb: null });
  }

  async runNaiveBaseline(): Promise<void> {
    say('== naive PostgreSQL baseline (bench/naive-baseline-server.ts) ==');
    if (!this.pg) {
      say('  skipped: PostgreSQL unreachable');
      return;
    }
    let db: BenchDatabase | null = null;
    let server: ServerProcess | null = null;
    try {
      db = await this.pg.fresh();
      server = await startServer('naive baseline', 'bench/naive-baseline-server.ts', { DATABASE_URL: db.url, DATABASE_POOL_SIZE: BASE_ENV.DATABASE_POOL_SIZE ?? '10' });
      const m = await runScenario(server.baseUrl, SCENARIO_SPECS['hot-sku'], 'naive', this.settings);
      this.naiveBaseline = { ...m, peakRss: server.peakRss() };
      this.record({ config: 'pg-naive', scenario: 'hot-sku', title: 'naive SELECT FOR UPDATE baseline', measurement: m, ratio: this.ratio(m), oversell: null, oversellOk: true, peakRssMb: null });
    } catch (err) {
      this.fail(`naive baseline: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await server?.stop();
      await db?.drop().catch(() => undefined);
    }
  }

  async runGrowth(name: StoreName): Promise<void> {
    const historic = this.options.growthRows;
    const { kind, env } = CONFIGS[name];
    say(`== growth on ${name}: empty database vs ${historic} historic reservations (CLEANUP_INTERVAL=50) ==`);
    if (kind === 'postgres' && !this.pg) {
      say('  skipped: PostgreSQL unreachable');
      return;
    }
    const dbs: BenchDatabase[] = [];
    const sweep = this.options.sweepReservations ?? (kind === 'sqlite' ? 20_000 : 2_000);
    try {
      for (const side of ['empty', 'filled']) dbs.push(await this.freshDatabase(kind, `growth_${side}`));
      const [empty, filled] = await runGrowth([dbs[0], dbs[1]] as [BenchDatabase, BenchDatabase], { ...BASE_ENV, ...env }, historic, sweep, this.settings, say);
      const label = (h: number) => `${name} ${h === 0 ? 'empty' : h >= 1000 ? `+${Math.round(h / 1000)}k` : `+${h}`}`;
      for (let round = 0; round < empty.hotSkuRounds.length; round++) {
        for (const pass of [empty, filled]) {
          const m = pass.hotSkuRounds[round];
          if (!m) continue;
          const last = round === empty.hotSkuRounds.length - 1;
          this.record({
            config: label(pass.historicReservations),
            scenario: `growth hot-sku #${round + 1}`,
            title: `hot-sku with ${pass.historicReservations} historic reservations, round ${round + 1}`,
            measurement: m,
            ratio: this.ratio(m),
            oversell: last ? pass.oversell : null,
            oversellOk: pass.oversellOk,
            peakRssMb: last ? Math.max(0, ...pass.peakRss.filter((p) => p.role !== 'helper').map((p) => p.peakRssMb)) || null : null,
          });
        }
      }
      this.growth.push({
        config: name,
        empty,
        filled,
        hotSkuRatio: filled.hotSkuRps / empty.hotSkuRps,
        sweepRatio: filled.sweepMedianMs / empty.sweepMedianMs,
      });
    } catch (err) {
      this.fail(`growth on ${name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      for (const db of dbs) await db.drop().catch(() => undefined);
    }
  }

  async run(): Promise<void> {
    const pgStores = this.options.stores.filter((s) => CONFIGS[s].kind === 'postgres');
    // The baseline goes with the PostgreSQL configurations, unless --only names it.
    const naive = this.wants('naive-baseline') && (pgStores.length > 0 || this.options.onlyGiven);
    const growthStores = this.wants('growth') ? this.options.growthStores : [];
    if (pgStores.length > 0 || naive || growthStores.some((s) => CONFIGS[s].kind === 'postgres')) {
      const admin = new PgAdmin(this.options.pgUrl);
      const why = await admin.unreachable();
      if (why === null) this.pg = admin;
      else {
        const line = `PostgreSQL at ${admin.maskedUrl} is unreachable (${why}): skipping ${[...pgStores, ...(naive ? ['naive-baseline'] : [])].join(', ')}`;
        this.notes.push(line);
        say(line);
      }
    }
    // Every ratio needs the ceiling; only a growth-only run does without it.
    const needsCeiling = [...this.options.only].some((s) => s !== 'growth');
    try {
      if (needsCeiling) await this.measureCeiling();
      for (const store of this.options.stores) await this.runConfiguration(store);
      if (naive) await this.runNaiveBaseline();
      for (const store of growthStores) await this.runGrowth(store);
    } catch (err) {
      this.fail(err instanceof Error ? err.message : String(err));
    } finally {
      await this.ceilingServer?.stop();
    }
  }
}

