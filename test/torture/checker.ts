import { canMoveOrder, canMoveReservation } from '../../src/domain/state-machine.js';
import type { OrderStatus, ReservationStatus } from '../../src/domain/types.js';
import { formatDrift } from '../../src/services/reconciliation.service.js';
import { answerOf, isDefiniteAnswer, operationOutcome, type Attempt, type Operation } from './history.js';
import type { StoreSnapshot } from './state.js';

export type Rule =
  | 'lost-acknowledged'
  | 'illegal-state'
  | 'real-time-order'
  | 'received'
  | 'reserved'
  | 'ledger'
  | 'reconciler'
  | 'idempotency'
  | 'double-effect'
  | 'orders'
  | 'expiry'
  | 'server-error'
  | 'client-error'
  | 'restart';

export interface Violation {
  rule: Rule;
  message: string;
}

export interface CheckInput {
  operations: readonly Operation[];
  /** Units received per sku, as the acknowledged product creations said. */
  received: ReadonlyMap<string, number>;
  state: StoreSnapshot;
  /** Whether a restart ran its start-up sweep after every hold fell due (so none may be live). */
  expectSwept?: boolean;
}

export interface CheckReport {
  violations: Violation[];
  /** Reservations and orders some answer acknowledged, each checked against the store. */
  acknowledgedReservations: number;
  acknowledgedOrders: number;
  /** Idempotency keys whose answers and stored record were compared. */
  keysChecked: number;
}

const RESERVATION_STATUSES = new Set<string>(['RESERVED', 'CONFIRMED', 'CANCELLED', 'EXPIRED']);
const ORDER_STATUSES = new Set<string>(['CONFIRMED', 'COMPLETED', 'CANCELLED']);
/** Answers that only a wrong request from the torture itself would get. */
const CLIENT_MISTAKES = new Set(['VALIDATION_ERROR', 'INVALID_JSON', 'ROUTE_NOT_FOUND', 'UNSUPPORTED_MEDIA_TYPE', 'BAD_REQUEST']);

/** What one answer said about one reservation or order, and when that was true. */
interface Observation {
  entity: 'reservation' | 'order';
  id: string;
  status: string;
  paymentStatus?: string;
  /** Canonical lines, "SKU:qty,..." sorted by sku. */
  items?: string;
  op: Operation;
  /**
   * The state held at some moment in [from, to]: from the operation's first attempt (a replayed
   * answer is a snapshot of whichever attempt ran) to the answer.
   */
  from: number;
  to: number;
}

const describe = (op: Operation) => `op #${op.id} ${op.method} ${op.path} by ${op.userId}`;
const canonicalItems = (items: ReadonlyArray<{ sku: string; quantity: number }>) =>
  [...items]
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
    .map((i) => `${i.sku}:${i.quantity}`)
    .join(',');

function observationsOf(op: Operation, attempt: Attempt): Observation[] {
  const body = attempt.body;
  if (!body || typeof body !== 'object') return [];
  const when = { op, from: op.attempts[0]?.invokedAt ?? attempt.invokedAt, to: attempt.completedAt ?? attempt.invokedAt };
  const found: Observation[] = [];
  const itemsOf = (value: unknown) => (Array.isArray(value) ? { items: canonicalItems(value as Array<{ sku: string; quantity: number }>) } : {});
  if (body.success === true && body.data && typeof body.data === 'object' && !Array.isArray(body.data)) {
    const data = body.data;
    if (typeof data.orderId === 'string') {
      found.push({ entity: 'order', id: data.orderId, status: data.status, paymentStatus: data.paymentStatus, ...itemsOf(data.items), ...when });
      // An order exists only for a confirmed reservation.
      if (typeof data.reservationId === 'string') found.push({ entity: 'reservation', id: data.reservationId, status: 'CONFIRMED', ...when });
    } else if (typeof data.reservationId === 'string' && typeof data.status === 'string') {
      found.push({ entity: 'reservation', id: data.reservationId, status: data.status, ...itemsOf(data.items), ...when });
    }
  } else if (body.success === false && body.details && typeof body.details === 'object') {
    const details = body.details;
    if (body.code === 'RESERVATION_EXPIRED' && typeof details.reservationId === 'string') {
      found.push({ entity: 'reservation', id: details.reservationId, status: 'EXPIRED', ...when });
    } else if (body.code === 'INVALID_STATE' && typeof details.status === 'string') {
      if (typeof details.orderId === 'string') {
        found.push({ entity: 'order', id: details.orderId, status: details.status, paymentStatus: details.paymentStatus, ...when });
      } else if (typeof details.reservationId === 'string') {
        found.push({ entity: 'reservation', id: details.reservationId, status: details.status, ...when });
      }
    } else if (body.code === 'RESERVATION_CONFLICT' && typeof details.reservationId === 'string') {
      // The shopper's live hold on one of those skus.
      found.push({ entity: 'reservation', id: details.reservationId, status: 'RESERVED', ...when });
    }
  }
  return found;
}

function reachable(entity: 'reservation' | 'order', from: string, to: string): boolean {
  if (from === to) return true;
  if (entity === 'reservation') {
    return RESERVATION_STATUSES.has(from) && RESERVATION_STATUSES.has(to) && canMoveReservation(from as ReservationStatus, to as ReservationStatus);
  }
  return ORDER_STATUSES.has(from) && ORDER_STATUSES.has(to) && canMoveOrder(from as OrderStatus, to as OrderStatus);
}

/**
 * PENDING may still become SUCCESS or FAILED; a recorded outcome never changes. Undefined: the
 * answer did not say (a refusal to cancel names the status only).
 */
const paymentReachable = (from: string | undefined, to: string | undefined) =>
  from === undefined || to === undefined || from === 'PENDING' || from === to;

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * Checks a history against the final store, Jepsen style: what was acknowledged must be there, in
 * that state or a legal later one; an operation with an unknown outcome may have happened or not;
 * the books must balance; and no Idempotency-Key may have had two effects.
 */
export function checkHistory(input: CheckInput): CheckReport {
  const { operations, received, state } = input;
  const violations: Violation[] = [];
  const violate = (rule: Rule, message: string) => violations.push({ rule, message });

  // --- Answers the server should never give.
  for (const op of operations) {
    for (const attempt of op.attempts) {
      if (attempt.status === 500) violate('server-error', `${describe(op)} answered 500: ${attempt.raw?.slice(0, 200)}`);
      const code = attempt.body?.code;
      if (typeof code === 'string' && CLIENT_MISTAKES.has(code)) violate('client-error', `${describe(op)} answered ${attempt.status} ${code}: ${attempt.raw?.slice(0, 200)}`);
      if (code === 'IDEMPOTENCY_KEY_MISMATCH') violate('idempotency', `${describe(op)}: key ${op.idempotencyKey} reported as used with a different request`);
    }
  }

  // --- Observations: every definite answer, about every reservation and order it names.
  const observations: Observation[] = [];
  for (const op of operations) for (const attempt of op.attempts) if (isDefiniteAnswer(attempt)) observations.push(...observationsOf(op, attempt));
  const byEntity = groupBy(observations, (o) => `${o.entity} ${o.id}`);

  const reservations = new Map(state.reservations.map((r) => [r.id, r]));
  const orders = new Map(state.orders.map((o) => [o.id, o]));
  const reservationItems = groupBy(state.reservationItems, (i) => i.reservationId);
  const orderItems = groupBy(state.orderItems, (i) => i.orderId);
  const finalOf = (entity: 'reservation' | 'order', id: string) => {
    if (entity === 'reservation') {
      const row = reservations.get(id);
      return row && { status: row.status, paymentStatus: undefined, items: canonicalItems(reservationItems.get(id) ?? []) };
    }
    const row = orders.get(id);
    return row && { status: row.status, paymentStatus: row.paymentStatus, items: canonicalItems(orderItems.get(id) ?? []) };
  };

  let acknowledgedReservations = 0;
  let acknowledgedOrders = 0;
  for (const group of byEntity.values()) {
    const { entity, id } = group[0] as Observation;
    if (entity === 'reservation') acknowledgedReservations++;
    else acknowledgedOrders++;
    const final = finalOf(entity, id);
    if (!final) {
      const first = group[0] as Observation;
      violate('lost-acknowledged', `${entity} ${id} was acknowledged as ${first.status} by ${describe(first.op)} but is not in the store`);
      continue;
    }
    for (const seen of group) {
      if (!reachable(entity, seen.status, final.status) || (entity === 'order' && !paymentReachable(seen.paymentStatus, final.paymentStatus))) {
        const payment = entity === 'order' ? ` (payment ${seen.paymentStatus ?? '?'} -> ${final.paymentStatus})` : '';
        violate('illegal-state', `${entity} ${id}: acknowledged ${seen.status} by ${describe(seen.op)}, but ends ${final.status}${payment}`);
        break;
      }
      if (seen.items !== undefined && seen.items !== final.items) {
        violate('illegal-state', `${entity} ${id}: acknowledged lines ${seen.items} by ${describe(seen.op)}, but the store has ${final.items}`);
        break;
      }
    }
    // Real-time order: what one answer saw before another request began must not be undone by it.
    const sorted = [...group].sort((a, b) => a.to - b.to);
    outer: for (const later of sorted) {
      for (const earlier of sorted) {
        if (earlier.to >= later.from) break;
        const paymentOk = entity !== 'order' || paymentReachable(earlier.paymentStatus, later.paymentStatus);
        if (!reachable(entity, earlier.status, later.status) || !paymentOk) {
          violate(
            'real-time-order',
            `${entity} ${id}: ${describe(earlier.op)} saw ${earlier.status}${earlier.paymentStatus ? `/${earlier.paymentStatus}` : ''} (done at ${earlier.to} ms), ` +
              `then ${describe(later.op)} (begun at ${later.from} ms) saw ${later.status}${later.paymentStatus ? `/${later.paymentStatus}` : ''}`,
          );
          break outer;
        }
      }
    }
  }

  // --- A "not found" for something acknowledged before the request began: a lost write seen live.
  const firstAck = new Map<string, Observation>();
  for (const o of observations) {
    const key = `${o.entity} ${o.id}`;
    const known = firstAck.get(key);
    if (!known || o.to < known.to) firstAck.set(key, o);
  }
  for (const op of operations) {
    const answer = answerOf(op);
    const code = answer?.body?.code;
    const lost =
      code === 'RESERVATION_NOT_FOUND' ? `reservation ${op.target?.reservationId}` : code === 'ORDER_NOT_FOUND' ? `order ${op.target?.orderId}` : undefined;
    if (!lost) continue;
    const acked = firstAck.get(lost);
    const begun = op.attempts[0]?.invokedAt ?? 0;
    if (acked && acked.to < begun) violate('lost-acknowledged', `${describe(op)} answered ${code} for ${lost}, acknowledged earlier by ${describe(acked.op)}`);
  }

  // --- Idempotency: one key, one answer (replayed byte for byte), the one the store kept.
  const storedKeys = new Map(state.idempotencyKeys.map((k) => [k.key, k]));
  let keysChecked = 0;
  const createdBy = new Map<string, Operation>();
  for (const op of operations) {
    if (!op.idempotencyKey) continue;
    keysChecked++;
    const answers = op.attempts.filter(isDefiniteAnswer);
    const [first] = answers;
    for (const other of answers.slice(1)) {
      if (other.status !== first?.status || other.raw !== first?.raw) {
        violate('idempotency', `key ${op.idempotencyKey} (${describe(op)}) answered twice differently: ${first?.status} ${first?.raw?.slice(0, 160)} / ${other.status} ${other.raw?.slice(0, 160)}`);
        break;
      }
    }
    const stored = storedKeys.get(op.idempotencyKey);
    if (stored && stored.statusCode !== null) {
      if (first && (stored.statusCode !== first.status || stored.responseBody !== first.raw)) {
        violate('idempotency', `key ${op.idempotencyKey} (${describe(op)}): the store kept ${stored.statusCode} but the client was answered ${first.status}`);
      } else if (!first && operationOutcome(op) === 'fail') {
        violate('idempotency', `key ${op.idempotencyKey} (${describe(op)}) failed on every attempt, yet the store kept an answer (${stored.statusCode})`);
      }
    }
    if (op.kind === 'reserve' && first?.status === 201 && typeof first.body?.data?.reservationId === 'string') {
      const id = first.body.data.reservationId as string;
      const earlier = createdBy.get(id);
      if (earlier) violate('double-effect', `reservation ${id} was created (201) by two requests with different keys: ${describe(earlier)} and ${describe(op)}`);
      else createdBy.set(id, op);
    }
  }

  checkReservationAttribution(operations, state, observations, violate);
  checkOrdersAgainstReservations(state, reservationItems, orderItems, violate);
  checkLedgerEffects(state, reservationItems, orderItems, violate);
  checkCounters(state, received, violate);

  for (const r of input.expectSwept === false ? [] : state.reservations) {
    if (r.status === 'RESERVED' && r.expiresAt <= state.readAt) {
      violate('expiry', `reservation ${r.id} is still RESERVED ${state.readAt - r.expiresAt} ms after it fell due, after a restart's start-up sweep`);
    }
  }
  return { violations, acknowledgedReservations, acknowledgedOrders, keysChecked };
}

/**
 * Which reserve request made each reservation: one shopper sends one request at a time, so the
 * row's created_at (the server's Date.now()) falls inside exactly one of that shopper's reserve
 * windows. A request may make at most one; one that was answered makes exactly what it named,
 * or nothing if it was refused; one that failed makes nothing.
 */
function checkReservationAttribution(
  operations: readonly Operation[],
  state: StoreSnapshot,
  observations: readonly Observation[],
  violate: (rule: Rule, message: string) => void,
): void {
  const named = new Set(observations.filter((o) => o.entity === 'reservation').map((o) => o.id));
  const reservesByUser = groupBy(
    operations.filter((op) => op.kind === 'reserve'),
    (op) => op.userId,
  );
  const rowsByUser = groupBy(state.reservations, (r) => r.userId);
  for (const [userId, rows] of rowsByUser) {
    const ops = reservesByUser.get(userId) ?? [];
    const windowOf = (op: Operation) => ({
      from: Math.min(...op.attempts.map((a) => a.invokedWallMs)),
      to: Math.max(...op.attempts.map((a) => a.completedWallMs ?? Number.POSITIVE_INFINITY)),
    });
    // A request that timed out may still have run after the client stopped waiting, in a later
    // window; after one, this shopper's windows prove nothing, and only the count is checked.
    const firstTimeout = ops.findIndex((op) => op.attempts.some((a) => a.error === 'timeout'));
    const assigned = new Map<Operation, string[]>();
    for (const row of rows) {
      const candidates = ops.filter((op, index) => {
        const w = windowOf(op);
        return (firstTimeout < 0 || index <= firstTimeout) && row.createdAt >= w.from && row.createdAt <= w.to;
      });
      const owner = candidates.find((op) => answerOf(op)?.body?.data?.reservationId === row.id) ?? candidates[0];
      if (owner) assigned.set(owner, [...(assigned.get(owner) ?? []), row.id]);
      else if (firstTimeout < 0) violate('double-effect', `reservation ${row.id} of ${userId} was created when none of their reserve requests was in flight`);
    }
    for (const [op, ids] of assigned) {
      const answer = answerOf(op);
      const outcome = operationOutcome(op);
      const madeId = answer && answer.status === 201 ? (answer.body?.data?.reservationId as string | undefined) : undefined;
      const expected = madeId ? [madeId] : [];
      if (outcome === 'info' ? ids.length > 1 : ids.join() !== expected.join()) {
        violate(
          'double-effect',
          `key ${op.idempotencyKey} (${describe(op)}, outcome ${outcome}${answer ? ` ${answer.status}` : ''}) created ${ids.length} reservation(s) ${ids.join(', ')}; expected ${expected.join(', ') || 'none'}${outcome === 'info' ? ' or one' : ''}`,
        );
      }
    }
    // The count, which holds whatever the timing: rows no answer named came from unknown requests.
    const unnamed = rows.filter((r) => !named.has(r.id)).length;
    const unknown = ops.filter((op) => operationOutcome(op) === 'info').length;
    if (unnamed > unknown) {
      violate('double-effect', `${userId} has ${unnamed} reservations no answer named, but only ${unknown} reserve requests with an unknown outcome`);
    }
  }
}

function checkOrdersAgainstReservations(
  state: StoreSnapshot,
  reservationItems: ReadonlyMap<string, StoreSnapshot['reservationItems']>,
  orderItems: ReadonlyMap<string, StoreSnapshot['orderItems']>,
  violate: (rule: Rule, message: string) => void,
): void {
  const reservations = new Map(state.reservations.map((r) => [r.id, r]));
  const ordered = new Set<string>();
  const legalPayment: Record<string, readonly string[]> = { CONFIRMED: ['PENDING'], COMPLETED: ['SUCCESS'], CANCELLED: ['PENDING', 'FAILED'] };
  for (const order of state.orders) {
    ordered.add(order.reservationId);
    const reservation = reservations.get(order.reservationId);
    if (!reservation || reservation.status !== 'CONFIRMED') {
      violate('orders', `order ${order.id} belongs to reservation ${order.reservationId}, which is ${reservation?.status ?? 'missing'}`);
    }
    if (!(legalPayment[order.status] ?? []).includes(order.paymentStatus)) {
      violate('orders', `order ${order.id} is ${order.status} with payment ${order.paymentStatus}`);
    }
    const lines = canonicalItems(orderItems.get(order.id) ?? []);
    const held = canonicalItems(reservationItems.get(order.reservationId) ?? []);
    if (lines !== held) violate('orders', `order ${order.id} has lines ${lines}, its reservation ${held}`);
  }
  for (const r of state.reservations) {
    if (r.status === 'CONFIRMED' && !ordered.has(r.id)) violate('orders', `reservation ${r.id} is CONFIRMED but has no order`);
  }
}

/**
 * Each move happens once, so the ledger holds, per reservation line, one RESERVE and at most one
 * way out (the one its status says), and per order line one RESTOCK exactly when it was cancelled.
 */
function checkLedgerEffects(
  state: StoreSnapshot,
  reservationItems: ReadonlyMap<string, StoreSnapshot['reservationItems']>,
  orderItems: ReadonlyMap<string, StoreSnapshot['orderItems']>,
  violate: (rule: Rule, message: string) => void,
): void {
  const rows = groupBy(
    state.movements.filter((m) => m.refId !== null),
    (m) => `${m.refId} ${m.sku}`,
  );
  const exitFor: Record<string, string | undefined> = { RESERVED: undefined, CONFIRMED: 'CONFIRM', CANCELLED: 'RELEASE', EXPIRED: 'EXPIRE' };
  const expect = (what: string, ref: string, sku: string, wanted: Record<string, number>, quantity: number) => {
    const found = rows.get(`${ref} ${sku}`) ?? [];
    const counts: Record<string, number> = {};
    for (const m of found) {
      counts[m.reason] = (counts[m.reason] ?? 0) + 1;
      if (wanted[m.reason] !== undefined) {
        const [onHand, reserved, sold] = movementDeltas(m.reason, quantity);
        if (m.deltaOnHand !== onHand || m.deltaReserved !== reserved || m.deltaSold !== sold) {
          violate('double-effect', `${what} ${ref} ${sku}: ${m.reason} moved (${m.deltaOnHand}, ${m.deltaReserved}, ${m.deltaSold}) for ${quantity} units`);
        }
      }
    }
    const reasons = new Set([...Object.keys(counts), ...Object.keys(wanted)]);
    for (const reason of reasons) {
      if ((counts[reason] ?? 0) !== (wanted[reason] ?? 0)) {
        violate('double-effect', `${what} ${ref} ${sku}: ${counts[reason] ?? 0} ${reason} movement(s) in the ledger, expected ${wanted[reason] ?? 0}`);
      }
    }
  };
  for (const r of state.reservations) {
    const exit = exitFor[r.status];
    for (const item of reservationItems.get(r.id) ?? []) {
      expect(`${r.status} reservation`, r.id, item.sku, { RESERVE: 1, ...(exit ? { [exit]: 1 } : {}) }, item.quantity);
    }
  }
  for (const o of state.orders) {
    for (const item of orderItems.get(o.id) ?? []) {
      expect(`${o.status} order`, o.id, item.sku, o.status === 'CANCELLED' ? { RESTOCK: 1 } : {}, item.quantity);
    }
  }
}

function movementDeltas(reason: string, q: number): [number, number, number] {
  switch (reason) {
    case 'RESERVE':
      return [0, q, 0];
    case 'RELEASE':
    case 'EXPIRE':
      return [0, -q, 0];
    case 'CONFIRM':
      return [-q, -q, q];
    case 'RESTOCK':
      return [q, 0, -q];
    default:
      return [0, 0, 0];
  }
}

/** The books: received = on_hand + sold, reserved = live units, counters = ledger replay, bounds; and the reconciler's own verdict. */
function checkCounters(state: StoreSnapshot, received: ReadonlyMap<string, number>, violate: (rule: Rule, message: string) => void): void {
  const live = new Set(state.reservations.filter((r) => r.status === 'RESERVED').map((r) => r.id));
  const liveUnits = new Map<string, number>();
  for (const item of state.reservationItems) {
    if (live.has(item.reservationId)) liveUnits.set(item.sku, (liveUnits.get(item.sku) ?? 0) + item.quantity);
  }
  const ledger = new Map<string, { onHand: number; reserved: number; sold: number; received: number }>();
  for (const m of state.movements) {
    const sums = ledger.get(m.sku) ?? { onHand: 0, reserved: 0, sold: 0, received: 0 };
    sums.onHand += m.deltaOnHand;
    sums.reserved += m.deltaReserved;
    sums.sold += m.deltaSold;
    if (m.reason === 'RECEIVE') sums.received += m.deltaOnHand;
    if (m.reason === 'ADJUST') violate('ledger', `${m.sku}: an ADJUST movement (${m.refId}): something repaired the counters during the run`);
    ledger.set(m.sku, sums);
  }
  const products = new Map(state.products.map((p) => [p.sku, p]));
  for (const [sku, units] of received) {
    const p = products.get(sku);
    if (!p) {
      violate('lost-acknowledged', `product ${sku} was created but is not in the store`);
      continue;
    }
    if (p.onHand + p.sold !== units) violate('received', `${sku}: on_hand ${p.onHand} + sold ${p.sold} = ${p.onHand + p.sold}, but ${units} units were received`);
    if (p.sold > units) violate('received', `${sku}: sold ${p.sold} of ${units} received (oversold)`);
    const receipts = ledger.get(sku)?.received ?? 0;
    if (receipts !== units) violate('ledger', `${sku}: the ledger's RECEIVE movements add up to ${receipts}, but ${units} units were received`);
  }
  for (const p of state.products) {
    const held = liveUnits.get(p.sku) ?? 0;
    if (p.reserved !== held) violate('reserved', `${p.sku}: reserved ${p.reserved}, but live reservations hold ${held}`);
    const sums = ledger.get(p.sku) ?? { onHand: 0, reserved: 0, sold: 0 };
    if (p.onHand !== sums.onHand || p.reserved !== sums.reserved || p.sold !== sums.sold) {
      violate('ledger', `${p.sku}: counters (${p.onHand}, ${p.reserved}, ${p.sold}) but the ledger replays to (${sums.onHand}, ${sums.reserved}, ${sums.sold})`);
    }
    if (p.onHand < 0 || p.sold < 0 || p.reserved < 0 || p.reserved > p.onHand) {
      violate('ledger', `${p.sku}: counters out of bounds: on_hand ${p.onHand}, reserved ${p.reserved}, sold ${p.sold}`);
    }
  }
  for (const drift of state.reconcilerDrifts) violate('reconciler', `npm run verify: ${formatDrift(drift)}`);
}
