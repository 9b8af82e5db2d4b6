// Three real server processes on one PostgreSQL database, shared by the tests below (each uses
// its own skus and users): all correctness must live in PostgreSQL's transactions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { queryDatabase, SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import type { ServerProcess } from '../process/server-process.js';
import {
  assertBooksBalance,
  Cleanups,
  counters,
  createProduct,
  pick,
  send,
  sendExpecting,
  startInstances,
  tally,
  testDatabase,
  type Answer,
  type TestDatabase,
} from './scale-helpers.js';

describe('three instances on one PostgreSQL database', { skip: SKIP_WITHOUT_POSTGRES, timeout: 480_000 }, () => {
  const cleanups = new Cleanups();
  let db: TestDatabase;
  let instances: ServerProcess[] = [];
  const urls = () => instances.map((s) => s.baseUrl);

  before(async () => {
    db = await testDatabase(cleanups);
    instances = await startInstances(cleanups, db.url, 3);
  });
  after(() => cleanups.run());

  test('three instances, 300 buyers, ten units: exactly ten win', async () => {
    const sku = 'SCALE-TEN';
    await createProduct(pick(urls(), 0), sku, 10);

    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        send(pick(urls(), i), 'POST', '/inventory/reserve', { userId: `buyer-${i}`, sku, quantity: 1 }),
      ),
    );
    assert.deepEqual(tally(answers), { '201': 10, '400 INSUFFICIENT_INVENTORY': 290 });

    for (const url of urls()) {
      const { body } = await sendExpecting(200, url, 'GET', `/inventory/${sku}`);
      assert.equal(body.data.availableQuantity, 0, `available through ${url}`);
      assert.equal(body.data.reservedQuantity, 10, `reserved through ${url}`);
    }
    const [ledger] = await queryDatabase<{ units: number; rows: number }>(
      db.url,
      `SELECT COALESCE(SUM(delta_reserved), 0)::int AS units, COUNT(*)::int AS rows
       FROM stock_movements WHERE sku = $1 AND reason = 'RESERVE'`,
      [sku],
    );
    assert.deepEqual(ledger, { units: 10, rows: 10 }, 'the RESERVE rows of the ledger hold exactly ten units');
    const [live] = await queryDatabase<{ n: number }>(
      db.url,
      `SELECT COUNT(*)::int AS n FROM reservations r JOIN reservation_items i ON i.reservation_id = r.id
       WHERE i.sku = $1 AND r.status = 'RESERVED'`,
      [sku],
    );
    assert.equal(live?.n, 10, 'ten live reservations');
    await assertBooksBalance(db.url);
  });

  test('fifty retries of one Idempotency-Key across three instances hold stock once', async () => {
    const sku = 'SCALE-IDEM';
    const userId = 'idem-user';
    await createProduct(pick(urls(), 1), sku, 10);
    const body = { userId, sku, quantity: 2 };
    const headers = { 'Idempotency-Key': 'scale-idem-key-1' };

    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(pick(urls(), i), 'POST', '/inventory/reserve', body, headers)),
    );

    const created = answers.filter((res) => res.status === 201);
    const rest = answers.filter((res) => res.status !== 201);
    for (const res of rest) {
      assert.equal(res.status, 409, `only 201 or 409: ${res.status} ${res.raw}`);
      assert.equal(res.body?.code, 'IDEMPOTENCY_IN_PROGRESS', res.raw);
    }
    assert.ok(created.length >= 1, `at least the first request succeeded: ${JSON.stringify(tally(answers))}`);
    const originals = created.filter((res) => res.headers.get('idempotent-replayed') === null);
    assert.equal(originals.length, 1, 'exactly one answer is the original; the other 201s are replays');
    const original = originals[0] as Answer;
    for (const res of created) {
      assert.equal(res.raw, original.raw, 'every 201 is byte for byte the first one');
      if (res !== original) assert.equal(res.headers.get('idempotent-replayed'), 'true');
    }
    assert.equal(original.body.data.status, 'RESERVED');

    const rows = await queryDatabase<{ id: string }>(db.url, 'SELECT id FROM reservations WHERE user_id = $1', [userId]);
    assert.deepEqual(rows.map((r) => r.id), [original.body.data.reservationId], 'exactly one reservation row');
    const product = await counters(db.url, sku);
    assert.deepEqual(product, { sku, onHand: 10, reserved: 2, sold: 0 }, 'stock is held once');

    // Sent again once everything has settled, the key is a replay on every instance.
    for (const url of urls()) {
      const again = await sendExpecting(201, url, 'POST', '/inventory/reserve', body, headers);
      assert.equal(again.raw, original.raw);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
    }
    await assertBooksBalance(db.url);
  });

  test('concurrent confirms through different instances produce one order', async () => {
    const sku = 'SCALE-CONFIRM';
    const userId = 'confirm-user';
    await createProduct(pick(urls(), 2), sku, 10);
    const reserved = await sendExpecting(201, pick(urls(), 0), 'POST', '/inventory/reserve', { userId, sku, quantity: 3 });
    const reservationId: string = reserved.body.data.reservationId;

    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => send(pick(urls(), i), 'POST', '/checkout/confirm', { reservationId, userId })),
    );
    assert.deepEqual(tally(answers), { '201': 1, '200': 29 });
    const first = answers.find((res) => res.status === 201) as Answer;
    const orderId: string = first.body.data.orderId;
    assert.equal(first.body.data.isIdempotent, false);
    for (const res of answers.filter((r) => r !== first)) {
      assert.equal(res.body.data.orderId, orderId, 'every confirm answers with the one order');
      assert.equal(res.body.data.isIdempotent, true, res.raw);
    }

    const orders = await queryDatabase<{ id: string }>(db.url, 'SELECT id FROM orders WHERE reservation_id = $1', [reservationId]);
    assert.deepEqual(orders.map((o) => o.id), [orderId], 'one order row for the reservation');
    const [confirms] = await queryDatabase<{ n: number }>(
      db.url,
      `SELECT COUNT(*)::int AS n FROM stock_movements WHERE ref_id = $1 AND reason = 'CONFIRM'`,
      [reservationId],
    );
    assert.equal(confirms?.n, 1, 'one CONFIRM row in the ledger');
    assert.deepEqual(await counters(db.url, sku), { sku, onHand: 7, reserved: 0, sold: 3 }, 'sold == quantity, once');
    await assertBooksBalance(db.url);
  });

  test('crossing multi-line reserves never deadlock or leave partial holds', async () => {
    const [a, b] = ['SCALE-CROSS-A', 'SCALE-CROSS-B'];
    await createProduct(pick(urls(), 0), a, 40);
    await createProduct(pick(urls(), 1), b, 40);

    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const items = i % 2 === 0 ? [{ sku: a, quantity: 1 }, { sku: b, quantity: 1 }] : [{ sku: b, quantity: 1 }, { sku: a, quantity: 1 }];
        return send(pick(urls(), i), 'POST', '/inventory/reserve', { userId: `cross-${i}`, items });
      }),
    );
    assert.deepEqual(tally(answers), { '201': 40, '400 INSUFFICIENT_INVENTORY': 160 }, 'no 500 or 503, no deadlock');

    assert.deepEqual(await counters(db.url, a), { sku: a, onHand: 40, reserved: 40, sold: 0 });
    assert.deepEqual(await counters(db.url, b), { sku: b, onHand: 40, reserved: 40, sold: 0 });
    const lines = await queryDatabase<{ lines: number; n: number }>(
      db.url,
      `SELECT lines, COUNT(*)::int AS n FROM (
         SELECT r.id, COUNT(i.sku)::int AS lines FROM reservations r
         JOIN reservation_items i ON i.reservation_id = r.id
         WHERE r.user_id LIKE 'cross-%' GROUP BY r.id) per_reservation
       GROUP BY lines`,
    );
    assert.deepEqual(lines, [{ lines: 2, n: 40 }], 'forty reservations, each holding both lines');
    await assertBooksBalance(db.url);
  });
});
