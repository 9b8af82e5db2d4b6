// The end-of-run report: what the shoppers saw, what the product's counters say, and whether
// the two agree (nothing oversold, counters consistent).
import { renderBuckets, type LatencySummary } from './histogram.js';
import { MAX_ATTEMPTS } from './http-client.js';
import type { FlashSaleOptions } from './options.js';
import { ROUTES, type Route, type Tally } from './shopper.js';

export interface ProductCounters {
  totalQuantity: number;
  availableQuantity: number;
  reservedQuantity: number;
  soldQuantity: number;
}

export interface ExpiryWait {
  /** reservedQuantity came back to its value before the run. */
  released: boolean;
  waitedMs: number;
  product: ProductCounters;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FlashSaleReport {
  runId: string;
  url: string;
  sku: string;
  startedAt: string;
  settings: Pick<FlashSaleOptions, 'users' | 'concurrency' | 'thinkMs' | 'confirm' | 'cancel' | 'seed' | 'idempotency'>;
  /** Stopped early (Ctrl-C): shoppers not started are not counted anywhere. */
  interrupted: boolean;
  durationMs: number;
  shoppers: {
    users: number;
    started: number;
    reservedOk: number;
    rejected: number;
    confirmed: number;
    cancelled: number;
    abandoned: number;
    /** Confirm or cancel came too late: the hold had expired. */
    expiredBeforeDecision: number;
    /** All holds of this run known to have expired: the above plus abandoned ones seen to expire. */
    expired: number;
    reserveFailed: number;
    decisionFailed: number;
    /** Final answers that are not an expected outcome, by `<route> <status> <code>`. */
    errors: Record<string, number>;
    /** Requests whose last attempt got no answer or a 5xx, so the server may have acted. */
    unknownOutcome: Record<Route, number>;
  };
  expiry: {
    /** Abandoned holds: they stay reserved until the service's TTL runs out. */
    heldUntilExpiry: number;
    waited: boolean;
    waitedMs: number | null;
    /** Abandoned holds seen to expire (with --wait-expiry), else null. */
    expiredAbandoned: number | null;
  };
  stock: { before: ProductCounters; after: ProductCounters | null; afterExpiry: ProductCounters | null };
  /** max(0, units sold in the run - units available at the start); must be 0. */
  oversold: number;
  throughput: { requests: number; retries: number; requestsPerSecond: number };
  latency: Record<Route, LatencySummary>;
  checks: Check[];
  ok: boolean;
}

export interface ReportInput {
  runId: string;
  options: FlashSaleOptions;
  startedAt: Date;
  durationMs: number;
  interrupted: boolean;
  tally: Tally;
  before: ProductCounters;
  /** Null when the product could not be read after the run; `afterError` says why. */
  after: ProductCounters | null;
  afterError?: string;
  wait: ExpiryWait | null;
}

function counterProblems(p: ProductCounters): string[] {
  const problems: string[] = [];
  if (p.availableQuantity < 0) problems.push(`availableQuantity ${p.availableQuantity} < 0`);
  if (p.reservedQuantity < 0) problems.push(`reservedQuantity ${p.reservedQuantity} < 0`);
  if (p.soldQuantity < 0) problems.push(`soldQuantity ${p.soldQuantity} < 0`);
  if (p.reservedQuantity > p.totalQuantity) problems.push(`reservedQuantity ${p.reservedQuantity} > totalQuantity ${p.totalQuantity}`);
  if (p.availableQuantity !== p.totalQuantity - p.reservedQuantity) {
    problems.push(`availableQuantity ${p.availableQuantity} != totalQuantity - reservedQuantity (${p.totalQuantity - p.reservedQuantity})`);
  }
  return problems;
}

const signed = (n: number): string => (n >= 0 ? `+${n}` : String(n));

export function buildReport(input: ReportInput): FlashSaleReport {
  const { tally, before, after, wait } = input;
  // Without the counters after the run, only the shoppers' own count of sales is left to judge by.
  const soldInRun = after ? Math.max(tally.confirmed, after.soldQuantity - before.soldQuantity) : tally.confirmed;
  const oversold = Math.max(0, soldInRun - before.availableQuantity);
  const checks: Check[] = [
    {
      name: 'oversold',
      ok: oversold === 0,
      detail: `oversold ${oversold}: ${soldInRun} sold in the run, ${before.availableQuantity} available at the start`,
    },
  ];
  if (after) checks.push(...counterChecks(tally, before, after, wait));
  else checks.push({ name: 'counters read after run', ok: false, detail: input.afterError ?? 'the product could not be read' });

  let expiredAbandoned: number | null = null;
  if (wait) {
    const stillHeld = Math.max(0, wait.product.reservedQuantity - before.reservedQuantity);
    expiredAbandoned = wait.released ? tally.abandoned : Math.max(0, tally.abandoned - stillHeld);
    checks.push({
      name: 'abandoned holds expired',
      ok: wait.released,
      detail: wait.released
        ? `reservedQuantity back to ${before.reservedQuantity} after ${(wait.waitedMs / 1000).toFixed(1)} s`
        : `reservedQuantity still ${wait.product.reservedQuantity} (${before.reservedQuantity} before the run) after ${(wait.waitedMs / 1000).toFixed(1)} s`,
    });
  }
  return assemble(input, checks, oversold, expiredAbandoned);
}

/** The product's counters against what the shoppers saw. */
function counterChecks(tally: Tally, before: ProductCounters, after: ProductCounters, wait: ExpiryWait | null): Check[] {
  const soldDelta = after.soldQuantity - before.soldQuantity;
  const totalDelta = after.totalQuantity - before.totalQuantity;
  const reservedDelta = after.reservedQuantity - before.reservedQuantity;
  const checks: Check[] = [];

  const unknownConfirms = tally.unknown.confirm;
  const soldOk = soldDelta === tally.confirmed || (soldDelta > tally.confirmed && soldDelta <= tally.confirmed + unknownConfirms);
  checks.push({
    name: 'sold counter',
    ok: soldOk,
    detail:
      `soldQuantity ${signed(soldDelta)}, ${tally.confirmed} confirmed` +
      (soldDelta !== tally.confirmed && soldOk ? ` (${soldDelta - tally.confirmed} of ${unknownConfirms} confirms with an unknown outcome went through)` : ''),
  });

  checks.push({
    name: 'on-hand counter',
    ok: totalDelta === -soldDelta,
    detail: `totalQuantity ${signed(totalDelta)}, soldQuantity ${signed(soldDelta)}: each sale takes its unit off the shelf`,
  });

  const snapshots: [string, ProductCounters][] = [['before', before], ['after', after]];
  if (wait) snapshots.push(['after expiry', wait.product]);
  const problems = snapshots.flatMap(([when, p]) => counterProblems(p).map((problem) => `${when}: ${problem}`));
  checks.push({
    name: 'counters consistent',
    ok: problems.length === 0,
    detail: problems.length === 0 ? 'availableQuantity >= 0, reservedQuantity <= totalQuantity, available = total - reserved' : problems.join('; '),
  });

  // Holds this run may have left: abandoned ones, and those whose confirm or cancel failed or whose reserve's outcome is unknown.
  const mayHold = tally.abandoned + tally.decisionFailed + tally.unknown.reserve;
  checks.push({
    name: 'no leaked holds',
    ok: reservedDelta <= mayHold,
    detail: `reservedQuantity ${signed(reservedDelta)}, at most ${mayHold} held by this run (${tally.abandoned} abandoned)`,
  });
  return checks;
}

function assemble(input: ReportInput, checks: Check[], oversold: number, expiredAbandoned: number | null): FlashSaleReport {
  const { tally, before, after, wait, options } = input;
  const latency = Object.fromEntries(ROUTES.map((route) => [route, tally.latency[route].summary()])) as Record<Route, LatencySummary>;
  return {
    runId: input.runId,
    url: options.url,
    sku: options.sku,
    startedAt: input.startedAt.toISOString(),
    settings: {
      users: options.users,
      concurrency: options.concurrency,
      thinkMs: options.thinkMs,
      confirm: options.confirm,
      cancel: options.cancel,
      seed: options.seed,
      idempotency: options.idempotency,
    },
    interrupted: input.interrupted,
    durationMs: Math.round(input.durationMs),
    shoppers: {
      users: options.users,
      started: tally.started,
      reservedOk: tally.reserved,
      rejected: tally.rejected,
      confirmed: tally.confirmed,
      cancelled: tally.cancelled,
      abandoned: tally.abandoned,
      expiredBeforeDecision: tally.expiredBeforeDecision,
      expired: tally.expiredBeforeDecision + (expiredAbandoned ?? 0),
      reserveFailed: tally.reserveFailed,
      decisionFailed: tally.decisionFailed,
      errors: Object.fromEntries([...tally.errors].sort(([a], [b]) => a.localeCompare(b))),
      unknownOutcome: { ...tally.unknown },
    },
    expiry: {
      heldUntilExpiry: tally.abandoned,
      waited: wait !== null,
      waitedMs: wait ? Math.round(wait.waitedMs) : null,
      expiredAbandoned,
    },
    stock: { before, after, afterExpiry: wait?.product ?? null },
    oversold,
    throughput: {
      requests: tally.requests,
      retries: tally.retries,
      requestsPerSecond: input.durationMs > 0 ? Math.round((tally.requests * 1000 * 10) / input.durationMs) / 10 : 0,
    },
    latency,
    checks,
    ok: checks.every((c) => c.ok),
  };
}

const pct = (part: number, whole: number): string => (whole === 0 ? '' : `${((part / whole) * 100).toFixed(1)}%`);
const ms = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(2)}s` : `${n.toFixed(1)}ms`);

export function renderText(r: FlashSaleReport): string {
  const s = r.shoppers;
  const out: string[] = [];
  const row = (label: string, value: number | string, note = '') => out.push(`  ${label.padEnd(20)} ${String(value).padStart(8)}  ${note}`.trimEnd());
  const { settings } = r;
  const abandonShare = Math.max(0, 1 - settings.confirm - settings.cancel);

  out.push(`flash-sale rehearsal of ${r.sku} at ${r.url}  (run ${r.runId}, seed ${settings.seed})`);
  out.push(
    `  ${settings.users} shoppers, concurrency ${settings.concurrency}, think ${settings.thinkMs.min}-${settings.thinkMs.max} ms, ` +
      `confirm ${pct(settings.confirm, 1)} / cancel ${pct(settings.cancel, 1)} / abandon ${pct(abandonShare, 1)}, ` +
      `Idempotency-Key ${settings.idempotency ? 'on' : 'off'}`,
  );
  if (r.interrupted) out.push(`  INTERRUPTED: ${s.started} of ${s.users} shoppers started; the rest are not counted`);
  out.push('');

  out.push('shoppers');
  row('users', s.users);
  row('reserved OK', s.reservedOk, pct(s.reservedOk, s.users));
  row('rejected', s.rejected, `${pct(s.rejected, s.users)}  400 INSUFFICIENT_INVENTORY`.trim());
  row('confirmed (sold)', s.confirmed);
  row('cancelled', s.cancelled);
  if (r.expiry.waited) {
    row('abandoned', s.abandoned, `expired: ${r.expiry.expiredAbandoned} after waiting ${((r.expiry.waitedMs ?? 0) / 1000).toFixed(1)} s`);
  } else {
    row('abandoned', s.abandoned, s.abandoned > 0 ? 'held until expiry (not waited for; --wait-expiry waits for the TTL)' : '');
  }
  row(
    'expired',
    s.expired,
    [
      s.expiredBeforeDecision > 0 ? `${s.expiredBeforeDecision} confirmed/cancelled too late (RESERVATION_EXPIRED)` : '',
      r.expiry.waited ? '' : s.abandoned > 0 ? 'abandoned holds not yet counted' : '',
    ]
      .filter(Boolean)
      .join('; '),
  );
  row('errors', s.reserveFailed + s.decisionFailed);
  for (const [key, count] of Object.entries(s.errors)) row(`  ${key}`, count);
  const unknown = ROUTES.filter((route) => s.unknownOutcome[route] > 0).map((route) => `${route} ${s.unknownOutcome[route]}`);
  if (unknown.length > 0) out.push(`  outcome unknown (no answer or 5xx after ${MAX_ATTEMPTS} tries): ${unknown.join(', ')}`);
  out.push('');

  const snapshots: [string, ProductCounters | null][] = [['before', r.stock.before], ['after', r.stock.after]];
  if (r.stock.afterExpiry) snapshots.push(['after expiry', r.stock.afterExpiry]);
  out.push(`stock ${r.sku}`.padEnd(22) + snapshots.map(([label]) => label.padStart(14)).join(''));
  for (const field of ['totalQuantity', 'soldQuantity', 'reservedQuantity', 'availableQuantity'] as const) {
    out.push(`  ${field.padEnd(20)}${snapshots.map(([, p]) => String(p ? p[field] : '?').padStart(14)).join('')}`);
  }
  out.push('');

  out.push('checks');
  for (const check of r.checks) out.push(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.name.padEnd(24)} ${check.detail}`);
  out.push('');

  const t = r.throughput;
  out.push(
    `throughput  ${t.requests} requests in ${(r.durationMs / 1000).toFixed(2)} s = ${t.requestsPerSecond} req/s` +
      (t.retries > 0 ? ` (${t.retries} retries)` : ''),
  );
  out.push('');
  out.push(`latency  ${'count'.padStart(8)}${['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(10)).join('')}`);
  for (const route of ROUTES) {
    const l = r.latency[route];
    out.push(`  ${route.padEnd(7)}${String(l.count).padStart(7)}${[l.p50, l.p90, l.p99, l.max].map((v) => (l.count === 0 ? '-' : ms(v)).padStart(10)).join('')}`);
  }
  for (const route of ROUTES) {
    const bars = renderBuckets(r.latency[route].buckets);
    if (bars.length === 0) continue;
    out.push('', `  ${route}`, ...bars);
  }
  out.push('');
  out.push(r.ok ? 'PASS: nothing oversold, counters consistent' : `FAIL: ${r.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')}`);
  return out.join('\n') + '\n';
}
