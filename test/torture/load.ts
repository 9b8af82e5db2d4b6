import type { TortureClient, OperationSpec } from './client.js';
import type { Fleet } from './cluster.js';
import type { Attempt } from './history.js';
import type { Prng } from './prng.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface LoadContext {
  client: TortureClient;
  skus: readonly string[];
  ttlMs: number;
  /** Prefix of every Idempotency-Key of the run, so keys never repeat across users or runs. */
  keyPrefix: string;
  shouldStop(): boolean;
}

type ReserveBody = { userId: string; sku: string; quantity: number } | { userId: string; items: Array<{ sku: string; quantity: number }> };

/**
 * One shopper: reserves (one line or several), then confirms, cancels, reads or abandons the
 * hold, then pays, fails to pay, cancels or reads the order, sometimes sending one more request
 * on a finished order to draw a refusal. Every write has a key of its own.
 */
export async function virtualUser(ctx: LoadContext, userId: string, prng: Prng): Promise<void> {
  let sequence = 0;
  let hold: { reservationId: string; reserveBody: ReserveBody } | undefined;
  let orderId: string | undefined;

  const write = (spec: Omit<OperationSpec, 'userId' | 'method' | 'idempotencyKey' | 'duplicate'>) =>
    ctx.client.perform(
      {
        ...spec,
        userId,
        method: 'POST',
        idempotencyKey: `${ctx.keyPrefix}-${userId}-${++sequence}`,
        duplicate: prng.chance(0.05),
      },
      prng,
    );
  const read = (spec: Omit<OperationSpec, 'userId' | 'method'>) => ctx.client.perform({ ...spec, userId, method: 'GET' }, prng);

  while (!ctx.shouldStop()) {
    await sleep(prng.int(0, 40));
    if (orderId) {
      const target = { orderId };
      const roll = prng.next();
      let answer: Attempt | undefined;
      if (roll < 0.4) {
        ({ answer } = await write({ kind: 'payment', path: `/order/${orderId}/payment`, body: { status: 'SUCCESS' }, target }));
      } else if (roll < 0.6) {
        ({ answer } = await write({ kind: 'payment', path: `/order/${orderId}/payment`, body: { status: 'FAILED' }, target }));
      } else if (roll < 0.8) {
        ({ answer } = await write({ kind: 'checkout-cancel', path: '/checkout/cancel', body: { userId, orderId }, target }));
      } else if (roll < 0.92) {
        ({ answer } = await read({ kind: 'get-order', path: `/order/${orderId}`, target }));
      }
      // Now and then one more request on a settled order, to draw its refusal or unchanged answer.
      if (!answer || !prng.chance(0.25)) orderId = undefined;
      continue;
    }
    if (hold) {
      const { reservationId } = hold;
      const target = { reservationId };
      const roll = prng.next();
      if (roll < 0.45) {
        // A quarter of confirms come late, many after the hold has expired.
        if (prng.chance(0.25)) await sleep(prng.between(0.5, 1.6) * ctx.ttlMs);
        const { answer } = await write({ kind: 'confirm', path: '/checkout/confirm', body: { userId, reservationId }, target });
        if (answer?.body?.data?.orderId) {
          orderId = answer.body.data.orderId as string;
          hold = undefined;
        } else if (answer || prng.chance(0.5)) {
          // Refused, or unknown and given up on; an unknown confirm kept is confirmed again later.
          hold = undefined;
        }
      } else if (roll < 0.6) {
        await write({ kind: 'reserve-cancel', path: '/inventory/reserve/cancel', body: { userId, reservationId }, target });
        hold = undefined;
      } else if (roll < 0.67) {
        await write({ kind: 'checkout-cancel', path: '/checkout/cancel', body: { userId, reservationId }, target });
        hold = undefined;
      } else if (roll < 0.8) {
        const { answer } = await read({ kind: 'get-reservation', path: `/reservation/${reservationId}`, target });
        if (answer?.body?.data?.status !== 'RESERVED') hold = undefined;
      } else if (roll < 0.9) {
        // Abandoned: the hold expires on its own.
        hold = undefined;
      } else {
        // The same reserve again under a new key: while the hold is live it must come back as the same reservation.
        const { answer } = await write({ kind: 'reserve', path: '/inventory/reserve', body: hold.reserveBody });
        if (answer?.status !== 200) hold = undefined;
      }
      continue;
    }
    const reserveBody = reserveRequest(userId, ctx.skus, prng);
    const { answer } = await write({ kind: 'reserve', path: '/inventory/reserve', body: reserveBody });
    const data = answer?.body?.data;
    if (answer && (answer.status ?? 500) < 300 && typeof data?.reservationId === 'string') {
      hold = { reservationId: data.reservationId, reserveBody };
    } else if (answer?.body?.code === 'RESERVATION_CONFLICT' && typeof answer.body.details?.reservationId === 'string') {
      // A hold of ours we lost track of (an unknown reserve that did happen): take it up again.
      hold = { reservationId: answer.body.details.reservationId as string, reserveBody };
    } else if (answer?.body?.code === 'INSUFFICIENT_INVENTORY') {
      await sleep(prng.int(20, 150));
    }
  }
}

function reserveRequest(userId: string, skus: readonly string[], prng: Prng): ReserveBody {
  // Most single lines go to the deep skus, so sales go on once the shallow two have sold out.
  if (prng.chance(0.65)) return { userId, sku: prng.chance(0.7) ? prng.pick(skus.slice(2)) : prng.pick(skus), quantity: prng.int(1, 2) };
  const first = prng.pick(skus);
  const second = prng.pick(skus.filter((sku) => sku !== first));
  const items = [{ sku: first, quantity: prng.int(1, 2) }, { sku: second, quantity: 1 }];
  if (prng.chance(0.2)) items.push({ sku: prng.pick(skus.filter((sku) => sku !== first && sku !== second)), quantity: 1 });
  return { userId, items };
}

export interface KillEvent {
  /** ms since the run started. */
  at: number;
  instance: number;
  /** How long it took to serve again. */
  restartMs: number;
}

export interface NemesisPlan {
  kills: number;
  durationMs: number;
  /** Restart time assumed when spacing the kills, so they spread over the duration. */
  expectedRestartMs: number;
}

/**
 * The nemesis: kill -9 an instance at a random moment, restart it on the same database, repeat.
 * The delays, victims and downtimes come from the seed. With several instances only the victim
 * is down, and it stays down a moment while the others serve.
 */
export async function nemesis(fleet: Fleet, plan: NemesisPlan, prng: Prng, now: () => number, events: KillEvent[]): Promise<void> {
  // Only one instance is ever down, so each kill waits for the previous restart: the gaps are what is left.
  const meanDowntimeMs = fleet.size === 1 ? 100 : 300;
  const meanGapMs = Math.max(300, plan.durationMs / plan.kills - plan.expectedRestartMs - meanDowntimeMs);
  for (let i = 0; i < plan.kills; i++) {
    const delayMs = prng.between(0.2, 1.8) * meanGapMs;
    const instance = prng.int(0, fleet.size - 1);
    const downtimeMs = prng.between(0, 2 * meanDowntimeMs);
    await sleep(delayMs);
    const at = now();
    await fleet.kill(instance);
    await sleep(downtimeMs);
    const started = performance.now();
    await fleet.restart(instance);
    events.push({ at, instance, restartMs: Math.round(performance.now() - started) });
  }
}
