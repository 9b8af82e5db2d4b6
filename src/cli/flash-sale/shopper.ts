// One simulated shopper: reserve 1 unit, think, then confirm, cancel or abandon.
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyHistogram } from './histogram.js';
import type { HttpAnswer, HttpClient, SendResult } from './http-client.js';
import type { FlashSaleOptions } from './options.js';

export type Action = 'confirm' | 'cancel' | 'abandon';
export type Route = 'reserve' | 'confirm' | 'cancel';
export const ROUTES: readonly Route[] = ['reserve', 'confirm', 'cancel'];

export interface ShopperPlan {
  index: number;
  userId: string;
  thinkMs: number;
  action: Action;
}

/** mulberry32: a small, fast 32-bit PRNG; plenty for think times and coin flips. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes the run seed with the shopper's index, so each shopper's draws do not depend on scheduling. */
function shopperSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The shopper's think time and decision: a pure function of the seed and the index. */
export function planShopper(options: Pick<FlashSaleOptions, 'seed' | 'thinkMs' | 'confirm' | 'cancel'>, runId: string, index: number): ShopperPlan {
  const random = mulberry32(shopperSeed(options.seed, index));
  const { min, max } = options.thinkMs;
  const thinkMs = min + Math.floor(random() * (max - min + 1));
  const roll = random();
  const action: Action = roll < options.confirm ? 'confirm' : roll < options.confirm + options.cancel ? 'cancel' : 'abandon';
  return { index, userId: `fs-${runId}-${index}`, thinkMs, action };
}

/** Shared counters of a run. Every reserved shopper ends in exactly one outcome. */
export class Tally {
  started = 0;
  done = 0;
  reserved = 0;
  /** 400 INSUFFICIENT_INVENTORY on reserve. */
  rejected = 0;
  confirmed = 0;
  cancelled = 0;
  abandoned = 0;
  /** Confirm or cancel answered 400 RESERVATION_EXPIRED: the hold ran out while the shopper thought. */
  expiredBeforeDecision = 0;
  /** Reserves that ended in another error (counted in `errors`). */
  reserveFailed = 0;
  /** Confirms or cancels that ended in another error (counted in `errors`). */
  decisionFailed = 0;
  /** Requests whose last attempt got no answer or a 5xx: the server may or may not have acted. */
  unknown: Record<Route, number> = { reserve: 0, confirm: 0, cancel: 0 };
  /** `<route> <status> <code>` of every final answer that is not an expected outcome. */
  errors = new Map<string, number>();
  requests = 0;
  retries = 0;
  /** Local time (performance.now() scale) by which the last abandoned hold is due. */
  lastHoldDueAt = 0;
  readonly latency: Record<Route, LatencyHistogram> = {
    reserve: new LatencyHistogram(),
    confirm: new LatencyHistogram(),
    cancel: new LatencyHistogram(),
  };

  countError(route: Route, answer: HttpAnswer): void {
    const key = answer.status === 0 ? `${route} network ${answer.code ?? 'error'}` : `${route} ${answer.status} ${answer.code ?? ''}`.trim();
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    if (answer.status === 0 || answer.status >= 500) this.unknown[route]++;
  }

  get errorCount(): number {
    let n = 0;
    for (const count of this.errors.values()) n += count;
    return n;
  }
}

export interface ShopperContext {
  client: HttpClient;
  sku: string;
  runId: string;
  idempotency: boolean;
  tally: Tally;
  now: () => number;
}

const dataOf = (answer: HttpAnswer): Record<string, unknown> => {
  const data = (answer.body as { data?: unknown } | undefined)?.data;
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
};

async function post(ctx: ShopperContext, route: Route, path: string, body: object, key: string): Promise<SendResult> {
  const headers: Record<string, string> = ctx.idempotency ? { 'idempotency-key': key } : {};
  return ctx.client.send('POST', path, body, headers, (answer, attempt) => {
    ctx.tally.requests++;
    if (attempt > 1) ctx.tally.retries++;
    if (answer.status !== 0) ctx.tally.latency[route].record(answer.latencyMs);
  });
}

export async function runShopper(plan: ShopperPlan, ctx: ShopperContext): Promise<void> {
  const { tally } = ctx;
  const keyPrefix = `fs-${ctx.runId}-${plan.index}`;
  const reserve = await post(ctx, 'reserve', '/inventory/reserve', { userId: plan.userId, sku: ctx.sku, quantity: 1 }, `${keyPrefix}-reserve`);
  // 200 is the duplicate-reserve answer (a retry without a key after a lost 201): the same hold.
  const reservationId = dataOf(reserve).reservationId;
  if ((reserve.status === 201 || reserve.status === 200) && typeof reservationId === 'string') {
    tally.reserved++;
  } else {
    if (reserve.status === 400 && reserve.code === 'INSUFFICIENT_INVENTORY') tally.rejected++;
    else {
      tally.reserveFailed++;
      tally.countError('reserve', reserve);
    }
    return;
  }
  const expiresIn = dataOf(reserve).expiresIn;
  const dueAt = ctx.now() + (typeof expiresIn === 'number' ? expiresIn : 0);

  if (plan.thinkMs > 0) await sleep(plan.thinkMs);

  if (plan.action === 'abandon') {
    tally.abandoned++;
    tally.lastHoldDueAt = Math.max(tally.lastHoldDueAt, dueAt);
    return;
  }
  const body = { reservationId, userId: plan.userId };
  if (plan.action === 'confirm') {
    const answer = await post(ctx, 'confirm', '/checkout/confirm', body, `${keyPrefix}-confirm`);
    // 200 is "order already confirmed": a retry whose first attempt had succeeded.
    if (answer.status === 201 || answer.status === 200) tally.confirmed++;
    else settleFailedDecision(tally, 'confirm', answer);
  } else {
    const answer = await post(ctx, 'cancel', '/inventory/reserve/cancel', body, `${keyPrefix}-cancel`);
    if (answer.status === 200) tally.cancelled++;
    else settleFailedDecision(tally, 'cancel', answer);
  }
}

function settleFailedDecision(tally: Tally, route: Route, answer: HttpAnswer): void {
  if (answer.status === 400 && answer.code === 'RESERVATION_EXPIRED') {
    tally.expiredBeforeDecision++;
    return;
  }
  tally.decisionFailed++;
  tally.countError(route, answer);
}
