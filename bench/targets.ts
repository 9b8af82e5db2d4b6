// The issue's targets, as ratios measured in the same run: PASS, MISS, or NOT MEASURED.
import type { BenchResults, TargetResult } from './results.js';

export const RSS_LIMIT_MB = 250;

type Input = Pick<BenchResults, 'ceiling' | 'rows' | 'configs' | 'halfRate' | 'naiveBaseline' | 'growth'>;

const rps = (input: Input, config: string, scenario: string): number | null =>
  input.rows.find((r) => r.config === config && r.scenario === scenario)?.measurement.rps ?? null;

function target(name: string, value: number | null, requirement: string, pass: (v: number) => boolean, detail: string): TargetResult {
  return {
    name,
    value,
    requirement,
    status: value === null || !Number.isFinite(value) ? 'NOT MEASURED' : pass(value) ? 'PASS' : 'MISS',
    detail,
  };
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);
const fmt = (n: number | null, digits = 0) => (n === null ? 'n/a' : n.toFixed(digits));

export function evaluateTargets(input: Input): TargetResult[] {
  const ceiling = input.ceiling?.rps ?? null;
  const hot = rps(input, 'sqlite-full', 'hot-sku');
  const spread = rps(input, 'sqlite-full', 'spread');
  const soldOut = rps(input, 'sqlite-full', 'sold-out');
  const checkout = rps(input, 'sqlite-full', 'checkout');
  const pgHot = rps(input, 'pg-workers2', 'hot-sku');
  const naive = input.naiveBaseline?.rps ?? null;
  const half = input.halfRate;
  // stockhold's own processes; a helper such as tsx's esbuild service is listed in the JSON but not judged.
  const rss = [
    ...input.configs.flatMap((c) => c.peakRss.map((p) => ({ ...p, where: `${c.name} ${p.role} ${p.pid}` }))),
    ...input.growth.flatMap((r) =>
      [r.empty, r.filled].flatMap((g) => g.peakRss.map((p) => ({ ...p, where: `growth ${r.config} (${g.historicReservations}) ${p.role} ${p.pid}` }))),
    ),
  ]
    .filter((p) => p.role !== 'helper')
    .map((p) => ({ where: p.where, mb: p.peakRssMb }));
  const worstRss = rss.length === 0 ? null : rss.reduce((a, b) => (b.mb > a.mb ? b : a));
  return [
    target('SQLite FULL hot-sku ÷ ceiling', ratio(hot, ceiling), '≥ 0.5', (v) => v >= 0.5, `${fmt(hot)} ÷ ${fmt(ceiling)} req/s`),
    target('SQLite FULL spread ÷ hot-sku', ratio(spread, hot), '≥ 0.9', (v) => v >= 0.9, `${fmt(spread)} ÷ ${fmt(hot)} req/s`),
    target('SQLite FULL sold-out storm ÷ ceiling', ratio(soldOut, ceiling), '≥ 0.8', (v) => v >= 0.8, `${fmt(soldOut)} ÷ ${fmt(ceiling)} req/s`),
    target('SQLite FULL checkout flow ÷ ceiling', ratio(checkout, ceiling), '≥ 0.4', (v) => v >= 0.4, `${fmt(checkout)} ÷ ${fmt(ceiling)} req/s`),
    target(
      'hot-sku p99 at half peak rate ÷ ceiling p99 at that rate',
      half ? ratio(half.hotSku.p99Ms, half.ceiling.p99Ms) : null,
      '≤ 3',
      (v) => v <= 3,
      half
        ? `${fmt(half.hotSku.p99Ms, 1)} ÷ ${fmt(half.ceiling.p99Ms, 1)} ms at ${half.overallRate} req/s; ` +
            `without autocannon's correction ${fmt(half.hotSku.rawP99Ms, 1)} ÷ ${fmt(half.ceiling.rawP99Ms, 1)} ms = ${fmt(ratio(half.hotSku.rawP99Ms, half.ceiling.rawP99Ms), 2)}`
        : 'not run',
    ),
    target('PostgreSQL WORKERS=2 hot-sku ÷ naive baseline', ratio(pgHot, naive), '≥ 5', (v) => v >= 5, `${fmt(pgHot)} ÷ ${fmt(naive)} req/s`),
    target(
      `peak RSS per process (MB)`,
      worstRss?.mb ?? null,
      `≤ ${RSS_LIMIT_MB}`,
      (v) => v <= RSS_LIMIT_MB,
      worstRss ? `highest: ${worstRss.where}, over ${rss.length} processes` : 'not measured',
    ),
    ...(input.growth.length === 0 ? [undefined] : input.growth).flatMap((growth) => [
      target(
        `growth${growth ? ` (${growth.config})` : ''}: hot-sku with history ÷ empty`,
        growth?.hotSkuRatio ?? null,
        '≥ 0.9',
        (v) => v >= 0.9,
        growth
          ? `${fmt(growth.filled.hotSkuRps)} ÷ ${fmt(growth.empty.hotSkuRps)} req/s (mean of ${growth.filled.hotSkuRounds.length} alternating rounds), ${growth.filled.historicReservations} historic reservations`
          : 'not run',
      ),
      target(
        `growth${growth ? ` (${growth.config})` : ''}: sweeper time with history ÷ empty`,
        growth?.sweepRatio ?? null,
        '≤ 1.1',
        (v) => v <= 1.1,
        growth
          ? `${fmt(growth.filled.sweepMedianMs)} ÷ ${fmt(growth.empty.sweepMedianMs)} ms to expire ${growth.filled.dueReservations} due reservations (median of ${growth.filled.sweepTrialsMs.length})`
          : 'not run',
      ),
    ]),
  ];
}
