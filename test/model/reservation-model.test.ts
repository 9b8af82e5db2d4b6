import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { get, post, startTestApp, TTL_MS, type JsonResponse, type TestApp } from '../helpers/test-app.js';
import { ReservationModel, type Line, type Outcome } from './reservation-model.js';

/**
 * Model-based test: random sequences of API calls run against the real app (SQLite in memory,
 * ManualClock) and against ReservationModel. After every step both must agree on the status,
 * the error code, the id and status of what the response is about, and on every counter of every
 * sku. fast-check shrinks a failure to a minimal command sequence; its toString() lines read as
 * the repro.
 */

const USERS = ['u1', 'u2', 'u3'] as const;
const SKUS = ['SKU-A', 'SKU-B', 'SKU-C'] as const;
/** An id no reservation or order has. */
const GHOST = '00000000-0000-7000-8000-000000000000';

interface Real {
  t: TestApp;
  /** Each run works on skus and users of its own, so runs can share one app (building one costs ~90 ms). */
  ns: string;
  reservationIds: string[];
  orderIds: string[];
}

const skuIn = (r: Real, sku: string) => `${sku}-${r.ns}`;
const userIn = (r: Real, user: string) => `${user}-${r.ns}`;

type Cmd = fc.AsyncCommand<ReservationModel, Real>;

/** A reference to an existing reservation or order by position (null: an unknown id). Shrinks well. */
type Ref = number | null;
const refArb: fc.Arbitrary<Ref> = fc.option(fc.nat(40), { freq: 12, nil: null });
const resolve = (ref: Ref, count: number): number | null => (ref === null || count === 0 ? null : ref % count);

/** owner, or another user by index (which may still be the owner). */
type Who = 'owner' | number;
const whoArb: fc.Arbitrary<Who> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Who>('owner') },
  { weight: 1, arbitrary: fc.nat(USERS.length - 1) },
);
const userFor = (r: Real, who: Who, owner: string | undefined): string =>
  who === 'owner' ? (owner ?? userIn(r, USERS[0])) : userIn(r, USERS[who] ?? USERS[0]);
const showWho = (who: Who) => (who === 'owner' ? 'owner' : USERS[who]);

/** MODEL_STATS=1 prints how often each command met each outcome: a check that the runs reach the interesting cases. */
const stats = new Map<string, number>();
const count = (label: string, outcome: Outcome) => {
  const key = `${label.split('(')[0]} -> ${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}`;
  stats.set(key, (stats.get(key) ?? 0) + 1);
};

async function check(label: string, m: ReservationModel, r: Real, res: JsonResponse, expected: Outcome): Promise<void> {
  count(label, expected);
  const where = () => `${label}\n  app: ${res.status} ${res.raw.slice(0, 300)}\n  model:\n  ${m.describe()}`;
  assert.equal(res.status, expected.status, `status differs: ${where()}`);
  if (expected.code !== undefined) {
    assert.equal(res.body?.success, false, where());
    assert.equal(res.body?.code, expected.code, `code differs: ${where()}`);
  } else {
    assert.equal(res.body?.success, true, where());
  }
  if (expected.entity) {
    assert.equal(res.body.data.status, expected.entity.status, `entity status differs: ${where()}`);
    if (expected.entity.paymentStatus !== undefined) {
      assert.equal(res.body.data.paymentStatus, expected.entity.paymentStatus, `paymentStatus differs: ${where()}`);
    }
  }
  if (expected.reservation !== undefined) {
    const known = r.reservationIds[expected.reservation];
    if (known === undefined) r.reservationIds[expected.reservation] = res.body.data.reservationId;
    else assert.equal(res.body.data.reservationId, known, `the response is about another reservation: ${where()}`);
  }
  if (expected.order !== undefined) {
    const known = r.orderIds[expected.order];
    if (known === undefined) r.orderIds[expected.order] = res.body.data.orderId;
    else assert.equal(res.body.data.orderId, known, `the response is about another order: ${where()}`);
  }
  await checkCounters(label, m, r);
}

/** Every counter of every sku, as GET /inventory/:sku shows it (a sku never created is a 404). */
async function checkCounters(label: string, m: ReservationModel, r: Real): Promise<void> {
  for (const base of SKUS) {
    const sku = skuIn(r, base);
    const res = await get(r.t, `/inventory/${sku}`);
    const expected = m.counters(sku);
    if (expected === null) {
      assert.equal(res.status, 404, `${label}: ${sku} should not exist`);
      continue;
    }
    assert.equal(res.status, 200, `${label}: ${sku} should exist`);
    const { totalQuantity, reservedQuantity, soldQuantity, availableQuantity } = res.body.data;
    assert.deepEqual(
      { totalQuantity, reservedQuantity, soldQuantity, availableQuantity },
      expected,
      `${label}: counters of ${sku} differ\n  model:\n  ${m.describe()}`,
    );
  }
}

// ---- commands ----------------------------------------------------------------------------------

class CreateProduct implements Cmd {
  constructor(
    readonly sku: string,
    readonly stock: number,
    readonly maxPerUser: number | null,
  ) {}
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    const sku = skuIn(r, this.sku);
    const expected = m.createProduct(sku, this.stock, this.maxPerUser);
    const res = await post(r.t, '/inventory', {
      sku,
      productName: `Product ${sku}`,
      totalQuantity: this.stock,
      price: 10,
      maxPerUser: this.maxPerUser,
    });
    await check(this.toString(), m, r, res, expected);
  }
  toString = () => `create(${this.sku}, stock ${this.stock}, max ${this.maxPerUser ?? '-'})`;
}

class Reserve implements Cmd {
  constructor(
    readonly user: number,
    readonly lines: Line[],
    /** One line sent as {sku, quantity} rather than {items}. */
    readonly singleForm: boolean,
  ) {}
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    const userId = userIn(r, USERS[this.user] as string);
    const lines = this.lines.map((line) => ({ sku: skuIn(r, line.sku), quantity: line.quantity }));
    const expected = m.reserve(userId, lines);
    const only = lines[0];
    const body =
      this.singleForm && lines.length === 1 && only
        ? { userId, sku: only.sku, quantity: only.quantity }
        : { userId, items: lines };
    await check(this.toString(), m, r, await post(r.t, '/inventory/reserve', body), expected);
  }
  toString = () =>
    `reserve(${USERS[this.user]}, ${this.lines.map((l) => `${l.sku}x${l.quantity}`).join(' + ')}${this.singleForm && this.lines.length === 1 ? ', single' : ''})`;
}

type ReservationAction = 'confirm' | 'cancel' | 'checkout-cancel' | 'get';

class OnReservation implements Cmd {
  constructor(
    readonly action: ReservationAction,
    readonly ref: Ref,
    readonly who: Who,
  ) {}
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    const index = resolve(this.ref, m.reservations.length);
    const id = index === null ? GHOST : (r.reservationIds[index] as string);
    const userId = userFor(r, this.who, index === null ? undefined : m.reservations[index]?.userId);
    const label = `${this.toString()} [r${index ?? '?'} as ${userId}]`;
    let expected: Outcome;
    let res: JsonResponse;
    switch (this.action) {
      case 'confirm':
        expected = m.confirm(index, userId);
        res = await post(r.t, '/checkout/confirm', { reservationId: id, userId });
        break;
      case 'cancel':
        expected = m.cancelReservation(index, userId);
        res = await post(r.t, '/inventory/reserve/cancel', { reservationId: id, userId });
        break;
      case 'checkout-cancel':
        expected = m.cancelCheckoutByReservation(index, userId);
        res = await post(r.t, '/checkout/cancel', { reservationId: id, userId });
        break;
      case 'get':
        expected = m.getReservation(index);
        res = await get(r.t, `/reservation/${id}`);
        break;
    }
    await check(label, m, r, res, expected);
  }
  toString = () => `${this.action}(reservation ${this.ref ?? 'unknown'}, ${showWho(this.who)})`;
}

class CancelOrder implements Cmd {
  constructor(
    readonly ref: Ref,
    readonly who: Who,
  ) {}
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    const index = resolve(this.ref, m.orders.length);
    const id = index === null ? GHOST : (r.orderIds[index] as string);
    const userId = userFor(r, this.who, index === null ? undefined : m.orders[index]?.userId);
    const expected = m.cancelCheckoutByOrder(index, userId);
    const res = await post(r.t, '/checkout/cancel', { orderId: id, userId });
    await check(`${this.toString()} [o${index ?? '?'} as ${userId}]`, m, r, res, expected);
  }
  toString = () => `checkout-cancel(order ${this.ref ?? 'unknown'}, ${showWho(this.who)})`;
}

class Pay implements Cmd {
  constructor(
    readonly ref: Ref,
    readonly status: 'SUCCESS' | 'FAILED',
  ) {}
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    const index = resolve(this.ref, m.orders.length);
    const id = index === null ? GHOST : (r.orderIds[index] as string);
    const expected = m.pay(index, this.status);
    const res = await post(r.t, `/order/${id}/payment`, { status: this.status });
    await check(`${this.toString()} [o${index ?? '?'}]`, m, r, res, expected);
  }
  toString = () => `pay(order ${this.ref ?? 'unknown'}, ${this.status})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    m.advance(this.ms);
    r.t.clock.advance(this.ms);
    await checkCounters(this.toString(), m, r);
  }
  toString = () => `advance(${this.ms} ms)`;
}

class Sweep implements Cmd {
  check = () => true;
  async run(m: ReservationModel, r: Real) {
    const expected = m.sweep();
    count(expected > 0 ? 'sweep-expired-some' : 'sweep-expired-none', { status: 200 });
    const swept = await r.t.sweeper.runOnce();
    assert.equal(swept.expired, expected, `sweep expired ${swept.expired}, the model ${expected}\n  ${m.describe()}`);
    await checkCounters(this.toString(), m, r);
  }
  toString = () => 'sweep()';
}

// ---- arbitraries -------------------------------------------------------------------------------

/** Skus are case-insensitive on the wire: sometimes sent lower-cased. */
const skuArb = fc.tuple(fc.constantFrom(...SKUS), fc.boolean()).map(([sku, lower]) => (lower ? sku.toLowerCase() : sku));
const quantityArb = fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 3 }) });
const lineArb = fc.record({ sku: skuArb, quantity: quantityArb });
const stockArb = fc.integer({ min: 0, max: 5 });
const maxPerUserArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }) },
);

const createArb = fc.tuple(fc.constantFrom(...SKUS), stockArb, maxPerUserArb).map(([sku, stock, max]) => new CreateProduct(sku, stock, max));

/** Lines over one sku (repeated lines of it are summed), or over several skus: all or nothing. */
const linesArb = (multiSku: boolean): fc.Arbitrary<Line[]> =>
  multiSku
    ? fc.oneof(
        { weight: 2, arbitrary: fc.array(lineArb, { minLength: 1, maxLength: 1 }) },
        { weight: 3, arbitrary: fc.array(lineArb, { minLength: 2, maxLength: 3 }) },
      )
    : fc
        .tuple(fc.constantFrom(...SKUS), fc.array(fc.tuple(fc.boolean(), quantityArb), { minLength: 1, maxLength: 2 }))
        .map(([sku, lines]) => lines.map(([lower, quantity]) => ({ sku: lower ? sku.toLowerCase() : sku, quantity })));
const reserveArb = (multiSku: boolean) =>
  fc
    .tuple(fc.nat(USERS.length - 1), linesArb(multiSku), fc.boolean())
    .map(([user, lines, single]) => new Reserve(user, lines, single));
const onReservationArb = fc
  .tuple(fc.constantFrom<ReservationAction>('confirm', 'confirm', 'cancel', 'checkout-cancel', 'get'), refArb, whoArb)
  .map(([action, ref, who]) => new OnReservation(action, ref, who));
const cancelOrderArb = fc.tuple(refArb, whoArb).map(([ref, who]) => new CancelOrder(ref, who));
const payArb = fc.tuple(refArb, fc.constantFrom('SUCCESS' as const, 'FAILED' as const)).map(([ref, status]) => new Pay(ref, status));
const advanceArb = fc
  .oneof(fc.constantFrom(1, TTL_MS / 2, TTL_MS - 1, TTL_MS, TTL_MS + 1), fc.integer({ min: 0, max: 2 * TTL_MS }))
  .map((ms) => new Advance(ms));
const sweepArb = fc.constant(null).map(() => new Sweep());

/**
 * A run: most skus created up front (a missing one gives PRODUCT_NOT_FOUND), then commands.
 * fc.commands picks uniformly among its arbitraries: repeats weight the mix towards reserving
 * and acting on reservations.
 */
const runArb = (multiSku: boolean) =>
  fc.tuple(
    fc.array(fc.option(fc.tuple(stockArb, maxPerUserArb), { freq: 6, nil: null }), { minLength: SKUS.length, maxLength: SKUS.length }),
    fc.commands(
      [
        createArb,
        reserveArb(multiSku),
        reserveArb(multiSku),
        reserveArb(multiSku),
        onReservationArb,
        onReservationArb,
        onReservationArb,
        cancelOrderArb,
        payArb,
        payArb,
        advanceArb,
        sweepArb,
      ],
      { maxCommands: 60, size: 'large' },
    ),
  );

const RUNS = Number(process.env.MODEL_RUNS ?? 100);

describe('model-based: the app agrees with the model of the rules after every step', () => {
  let t: TestApp;
  let runs = 0;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
    if (process.env.MODEL_STATS) console.warn([...stats].sort().map(([k, n]) => `${n}\t${k}`).join('\n'));
  });

  /**
   * One run on the shared app: its own skus and users, and a clock moved far past every earlier
   * run's reservations, which the sweeper then expires, so the sweeper's count is this run's alone.
   */
  async function runSequence([products, cmds]: [Array<[number, number | null] | null>, Iterable<Cmd>]): Promise<void> {
    t.clock.advance(10 * TTL_MS);
    await t.sweeper.runOnce();
    const real: Real = { t, ns: `R${++runs}`, reservationIds: [], orderIds: [] };
    const creates = products.flatMap((p, i) => (p ? [new CreateProduct(SKUS[i] as string, p[0], p[1])] : []));
    await fc.asyncModelRun(() => ({ model: new ReservationModel(t.clock.now(), TTL_MS), real }), [...creates, ...cmds]);
  }

  it('reserves of one sku at a time: create, reserve, confirm, cancel, pay, clock and sweeper', async () => {
    await fc.assert(fc.asyncProperty(runArb(false), runSequence), { numRuns: RUNS });
  });

  it(
    'multi-sku reserves too (all or nothing, repeated skus summed)',
    async () => {
      await fc.assert(fc.asyncProperty(runArb(true), runSequence), { numRuns: RUNS });
    },
  );

  it(
    'regression: expiring a due reservation for one line frees its units for the other lines too',
    async () => {
      // Found by the multi-sku property, shrunk: u1 holds A×1 + B×3, it falls due, u2 asks A×2 + B×1 (A is short until u1's hold expires), then u3 asks B×1.
      await runSequence([
        [[2, null], [3, null], null],
        [
          new Reserve(0, [{ sku: 'SKU-A', quantity: 1 }, { sku: 'SKU-B', quantity: 3 }], false),
          new Advance(TTL_MS),
          new Reserve(1, [{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-B', quantity: 1 }], false),
          new Reserve(2, [{ sku: 'SKU-B', quantity: 1 }], true),
        ],
      ]);
    },
  );
});
