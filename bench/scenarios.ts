// The load scenarios, driven by autocannon as a library: a warm-up that is thrown away, then the measured run.
import autocannon from 'autocannon';
import { HOT, SOLDOUT, SPREAD_COUNT, spreadSku } from './fixtures.js';

export type ScenarioId = 'ceiling' | 'hot-sku' | 'spread' | 'sold-out' | 'checkout' | 'reads';

export interface ScenarioSpec {
  id: ScenarioId;
  title: string;
  /** The statuses this scenario is meant to produce; anything else is reported as unexpected. */
  expected: readonly number[];
  /** Fresh request plan; `tag` makes every userId of this run distinct from every other run's. */
  requests(tag: string): autocannon.Request[];
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function reserve(path: string, tag: string, pickSku: () => string): autocannon.Request[] {
  let n = 0;
  return [
    {
      method: 'POST',
      path,
      headers: JSON_HEADERS,
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ userId: `${tag}-${++n}`, sku: pickSku(), quantity: 1 }) }),
    },
  ];
}

interface CheckoutContext {
  userId?: string;
  reservationId?: string;
}

/** Per virtual user: reserve 1 × HOT, then confirm the reservation the first answer named. */
function checkout(tag: string): autocannon.Request[] {
  let n = 0;
  return [
    {
      method: 'POST',
      path: '/inventory/reserve',
      headers: JSON_HEADERS,
      setupRequest: (req, context) => {
        const ctx = context as CheckoutContext;
        ctx.userId = `${tag}-${++n}`;
        ctx.reservationId = undefined;
        return { ...req, body: JSON.stringify({ userId: ctx.userId, sku: HOT, quantity: 1 }) };
      },
      onResponse: (status, body, context) => {
        if (status !== 201) return;
        (context as CheckoutContext).reservationId = (JSON.parse(body) as { data: { reservationId: string } }).data.reservationId;
      },
    },
    {
      method: 'POST',
      path: '/checkout/confirm',
      headers: JSON_HEADERS,
      // Without a reservation id the confirm still goes out and its 404 shows up as non-2xx.
      setupRequest: (req, context) => {
        const ctx = context as CheckoutContext;
        return { ...req, body: JSON.stringify({ userId: ctx.userId, reservationId: ctx.reservationId ?? 'none' }) };
      },
    },
  ];
}

const randomSpreadSku = () => spreadSku(Math.floor(Math.random() * SPREAD_COUNT));

export const SCENARIO_SPECS: Record<ScenarioId, ScenarioSpec> = {
  ceiling: {
    id: 'ceiling',
    title: 'bare Fastify, tiny JSON POST',
    expected: [200],
    requests: (tag) => reserve('/ceiling', tag, () => HOT),
  },
  'hot-sku': {
    id: 'hot-sku',
    title: 'reserve 1 × HOT, distinct users',
    expected: [201],
    requests: (tag) => reserve('/inventory/reserve', tag, () => HOT),
  },
  spread: {
    id: 'spread',
    title: 'reserve 1 of 10,000 skus at random',
    expected: [201],
    requests: (tag) => reserve('/inventory/reserve', tag, randomSpreadSku),
  },
  'sold-out': {
    id: 'sold-out',
    title: 'reserve SOLDOUT, all rejected 400',
    expected: [400],
    requests: (tag) => reserve('/inventory/reserve', tag, () => SOLDOUT),
  },
  checkout: {
    id: 'checkout',
    title: 'reserve then confirm, per user',
    expected: [201],
    requests: checkout,
  },
  reads: {
    id: 'reads',
    title: 'GET /inventory/HOT',
    expected: [200],
    requests: () => [{ method: 'GET', path: `/inventory/${HOT}` }],
  },
};

export interface LoadSettings {
  connections: number;
  pipelining: number;
  durationS: number;
  warmupS: number;
}

export interface Measurement {
  requests: number;
  durationS: number;
  /** Mean of autocannon's per-second samples, every completed request counted whatever its status. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of the response times as measured, without autocannon's coordinated-omission correction. */
  rawP99Ms: number;
  statusCodes: Record<string, number>;
  /** Responses whose status is not among the scenario's expected ones, by status. */
  unexpected: Record<string, number>;
  errors: number;
  timeouts: number;
  /** autocannon overallRate, when the run was rate-limited. */
  overallRate: number | null;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** One autocannon run. */
export async function load(
  baseUrl: string,
  spec: ScenarioSpec,
  tag: string,
  settings: { connections: number; pipelining: number; durationS: number; overallRate?: number },
): Promise<Measurement> {
  const samples: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: baseUrl,
        connections: settings.connections,
        pipelining: settings.pipelining,
        duration: settings.durationS,
        requests: spec.requests(tag),
        ...(settings.overallRate ? { overallRate: settings.overallRate } : {}),
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  });
  samples.sort((a, b) => a - b);
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const unexpected = Object.fromEntries(Object.entries(statusCodes).filter(([code]) => !spec.expected.includes(Number(code))));
  return {
    requests: result.requests.total,
    durationS: result.duration,
    rps: result.requests.mean,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    rawP99Ms: percentile(samples, 99),
    statusCodes,
    unexpected,
    errors: result.errors,
    timeouts: result.timeouts,
    overallRate: settings.overallRate ?? null,
  };
}

/** Warm-up (discarded), then the measured run, with the same connections and pipelining. */
export async function runScenario(baseUrl: string, spec: ScenarioSpec, tag: string, settings: LoadSettings): Promise<Measurement> {
  if (settings.warmupS > 0) await load(baseUrl, spec, `${tag}-w`, { ...settings, durationS: settings.warmupS });
  return load(baseUrl, spec, `${tag}-m`, settings);
}
