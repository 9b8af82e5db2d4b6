import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory, type CheckInput, type Rule } from './checker.js';
import type { Attempt, Operation } from './history.js';
import { formatSummary } from './summary.js';
import { DEFAULTS, runTorture, type TortureOptions } from './torture.js';

// --- The checker must be able to fail: fabricated histories and stores, each with one known flaw.

let nextOpId = 0;
function op(userId: string, kind: Operation['kind'], path: string, key: string | undefined, attempts: Attempt[], target?: Operation['target']): Operation {
  return { id: nextOpId++, userId, kind, method: 'POST', path, body: {}, ...(key ? { idempotencyKey: key } : {}), ...(target ? { target } : {}), attempts };
}

/** An answered attempt between two wall-clock instants (the run's relative clock reuses them). */
function answered(from: number, to: number, status: number, body: unknown): Attempt {
  return { invokedAt: from, completedAt: to, invokedWallMs: from, completedWallMs: to, instance: 0, type: 'ok', status, body, raw: JSON.stringify(body) };
}

function dropped(from: number, to: number): Attempt {
  return { invokedAt: from, completedAt: to, invokedWallMs: from, completedWallMs: to, instance: 0, type: 'info', error: 'ECONNRESET' };
}

const reservationBody = (id: string, status: string, quantity = 2) => ({
  success: true,
  statusCode: 201,
  data: { reservationId: id, userId: 'u1', status, items: [{ sku: 'A', quantity }], isIdempotent: false },
});
const orderBody = { success: true, statusCode: 201, data: { orderId: 'O1', reservationId: 'R1', status: 'CONFIRMED', paymentStatus: 'PENDING', items: [{ sku: 'A', quantity: 2 }] } };

/**
 * A consistent little world: u1 reserved 2 of A (R1) and confirmed it (O1); a third request, a
 * reserve, lost its connection and did in fact run (R2, since expired).
 */
function cleanCase(): CheckInput {
  const reserve = op('u1', 'reserve', '/inventory/reserve', 'k1', [answered(1000, 1010, 201, reservationBody('R1', 'RESERVED'))]);
  const confirm = op('u1', 'confirm', '/checkout/confirm', 'k2', [answered(1020, 1030, 201, orderBody)], { reservationId: 'R1' });
  const unknown = op('u1', 'reserve', '/inventory/reserve', 'k3', [dropped(1040, 1050)]);
  const raw = (o: Operation) => (o.attempts[0] as Attempt).raw ?? null;
  return {
    operations: [reserve, confirm, unknown],
    received: new Map([['A', 10]]),
    state: {
      products: [{ sku: 'A', onHand: 8, reserved: 0, sold: 2 }],
      reservations: [
        { id: 'R1', userId: 'u1', status: 'CONFIRMED', expiresAt: 2500, createdAt: 1005 },
        { id: 'R2', userId: 'u1', status: 'EXPIRED', expiresAt: 1545, createdAt: 1045 },
      ],
      reservationItems: [
        { reservationId: 'R1', sku: 'A', quantity: 2 },
        { reservationId: 'R2', sku: 'A', quantity: 1 },
      ],
      orders: [{ id: 'O1', userId: 'u1', reservationId: 'R1', status: 'CONFIRMED', paymentStatus: 'PENDING', createdAt: 1025 }],
      orderItems: [{ orderId: 'O1', sku: 'A', quantity: 2 }],
      movements: [
        { sku: 'A', reason: 'RECEIVE', deltaOnHand: 10, deltaReserved: 0, deltaSold: 0, refId: null },
        { sku: 'A', reason: 'RESERVE', deltaOnHand: 0, deltaReserved: 2, deltaSold: 0, refId: 'R1' },
        { sku: 'A', reason: 'CONFIRM', deltaOnHand: -2, deltaReserved: -2, deltaSold: 2, refId: 'R1' },
        { sku: 'A', reason: 'RESERVE', deltaOnHand: 0, deltaReserved: 1, deltaSold: 0, refId: 'R2' },
        { sku: 'A', reason: 'EXPIRE', deltaOnHand: 0, deltaReserved: -1, deltaSold: 0, refId: 'R2' },
      ],
      idempotencyKeys: [
        { principal: 'u1', key: 'k1', statusCode: 201, responseBody: raw(reserve) },
        { principal: 'u1', key: 'k2', statusCode: 201, responseBody: raw(confirm) },
        { principal: 'u1', key: 'k3', statusCode: 201, responseBody: JSON.stringify(reservationBody('R2', 'RESERVED', 1)) },
      ],
      reconcilerDrifts: [],
      readAt: 5000,
    },
  };
}

const rulesOf = (input: CheckInput): Rule[] => checkHistory(input).violations.map((v) => v.rule);

test('checker: a consistent history passes, and an unknown outcome counts either way', () => {
  assert.deepEqual(checkHistory(cleanCase()).violations, []);
  // The same history, had the dropped reserve never run.
  const notRun = cleanCase();
  notRun.state.reservations = notRun.state.reservations.filter((r) => r.id !== 'R2');
  notRun.state.reservationItems = notRun.state.reservationItems.filter((i) => i.reservationId !== 'R2');
  notRun.state.movements = notRun.state.movements.filter((m) => m.refId !== 'R2');
  notRun.state.idempotencyKeys = notRun.state.idempotencyKeys.filter((k) => k.key !== 'k3');
  assert.deepEqual(checkHistory(notRun).violations, []);
});

test('checker: an acknowledged reservation or order missing from the store is reported', () => {
  const input = cleanCase();
  input.state.orders = [];
  input.state.orderItems = [];
  input.state.reservations = input.state.reservations.filter((r) => r.id !== 'R1');
  const report = checkHistory(input);
  const lost = report.violations.filter((v) => v.rule === 'lost-acknowledged').map((v) => v.message);
  assert.ok(lost.some((m) => m.startsWith('reservation R1 ')), lost.join('\n'));
  assert.ok(lost.some((m) => m.startsWith('order O1 ')), lost.join('\n'));
});

test('checker: an acknowledged state followed by an illegal one is reported', () => {
  const input = cleanCase();
  const r1 = input.state.reservations.find((r) => r.id === 'R1');
  assert.ok(r1);
  r1.status = 'CANCELLED';
  assert.ok(rulesOf(input).includes('illegal-state'));
});

test('checker: one Idempotency-Key with two effects is reported', () => {
  // The reserve was answered R1, yet its retry made R3 as well while it was in flight.
  const input = cleanCase();
  input.state.reservations.push({ id: 'R3', userId: 'u1', status: 'EXPIRED', expiresAt: 1508, createdAt: 1008 });
  input.state.reservationItems.push({ reservationId: 'R3', sku: 'A', quantity: 2 });
  input.state.movements.push(
    { sku: 'A', reason: 'RESERVE', deltaOnHand: 0, deltaReserved: 2, deltaSold: 0, refId: 'R3' },
    { sku: 'A', reason: 'EXPIRE', deltaOnHand: 0, deltaReserved: -2, deltaSold: 0, refId: 'R3' },
  );
  const report = checkHistory(input);
  assert.ok(
    report.violations.some((v) => v.rule === 'double-effect' && v.message.includes('key k1')),
    report.violations.map((v) => v.message).join('\n'),
  );
});

test('checker: replays of one key that differ, and a move applied twice, are reported', () => {
  const input = cleanCase();
  const reserve = input.operations[0] as Operation;
  reserve.attempts.push(answered(1011, 1012, 201, reservationBody('R9', 'RESERVED')));
  input.state.movements.push({ sku: 'A', reason: 'CONFIRM', deltaOnHand: -2, deltaReserved: -2, deltaSold: 2, refId: 'R1' });
  const rules = rulesOf(input);
  assert.ok(rules.includes('idempotency'), rules.join());
  assert.ok(rules.includes('double-effect'), rules.join());
});

test('checker: books that do not balance are reported (received, reserved, ledger, reconciler)', () => {
  const input = cleanCase();
  const a = input.state.products[0];
  assert.ok(a);
  a.sold = 3;
  a.reserved = 1;
  input.state.reconcilerDrifts = [{ sku: 'A', check: 'orders', field: 'sold', stored: 3, expected: 2 }];
  const rules = new Set(rulesOf(input));
  for (const rule of ['received', 'reserved', 'ledger', 'reconciler'] as const) assert.ok(rules.has(rule), `${rule} in ${[...rules].join()}`);
});

// --- The short torture runs themselves.

function shortRun(t: { diagnostic(message: string): void }, options: Partial<TortureOptions> & Pick<TortureOptions, 'store'>) {
  const seed = Number(process.env.TORTURE_SEED ?? 20_251_124);
  return runTorture({
    durationMs: 35_000,
    kills: 10,
    seed,
    instances: 1,
    users: DEFAULTS.users,
    ttlMs: DEFAULTS.ttlMs,
    cleanupIntervalMs: DEFAULTS.cleanupIntervalMs,
    log: (line) => t.diagnostic(line),
    ...options,
  });
}

test('torture on SQLite: kill -9 at least 10 times under load loses nothing acknowledged', { timeout: 300_000 }, async (t) => {
  const result = await shortRun(t, { store: 'sqlite' });
  const summary = formatSummary(result);
  for (const line of summary.split('\n')) t.diagnostic(line);
  assert.ok(result.kills.length >= 10, `${result.kills.length} kills`);
  assert.deepEqual(result.report.violations, [], summary);
});

test('torture on PostgreSQL: kill -9 one of 3 instances at least 10 times while the others serve', { timeout: 300_000 }, async (t) => {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    t.skip('TEST_DATABASE_URL is not set: the PostgreSQL torture is skipped');
    return;
  }
  const result = await shortRun(t, { store: 'postgres', postgresUrl: url, instances: 3, durationMs: 20_000, users: 20 });
  const summary = formatSummary(result);
  for (const line of summary.split('\n')) t.diagnostic(line);
  assert.ok(result.kills.length >= 10, `${result.kills.length} kills`);
  assert.deepEqual(result.report.violations, [], summary);
});
