import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  allMovements,
  expectStatus,
  http,
  ledgerSums,
  logLines,
  startServer,
  tempDir,
  type HttpResult,
} from './server-process.js';

const SEEDED_LINE = 'seeded the demo catalog';
const DEMO_CATALOG_SIZE = 8;

async function productCounters(baseUrl: string, sku: string) {
  const { body } = await expectStatus(baseUrl, 'GET', `/inventory/${sku}`, 200);
  const { totalQuantity, reservedQuantity, availableQuantity, soldQuantity } = body.data;
  return { totalQuantity, reservedQuantity, availableQuantity, soldQuantity };
}

async function allProducts(baseUrl: string): Promise<Array<{ sku: string }>> {
  const products: Array<{ sku: string }> = [];
  let cursor: string | undefined;
  do {
    const res = await expectStatus(baseUrl, 'GET', `/inventory?limit=4${cursor ? `&cursor=${cursor}` : ''}`, 200);
    products.push(...res.body.data);
    cursor = res.body.meta.nextCursor;
  } while (cursor);
  return products;
}

test('kill -9 loses nothing acknowledged, and the restart does not seed the demo catalog again', { timeout: 120_000 }, async (t) => {
  const dbUrl = `sqlite:${join(tempDir(t), 'x.db')}`;
  const first = await startServer(t, { databaseUrl: dbUrl });
  const url = first.baseUrl;

  // A product created over HTTP before the kill.
  const created = await expectStatus(url, 'POST', '/inventory', 201, {
    sku: 'killtest-01',
    productName: 'Crash Test Dummy',
    totalQuantity: 7,
    price: 12.5,
  });
  assert.equal(created.body.data.sku, 'KILLTEST-01');

  // reservationId -> the status and lines of its last acknowledged response
  const reservations = new Map<string, { status: string; items: unknown }>();
  const orders = new Map<string, HttpResult>();
  const ack = (reservationId: string, status: string, items: unknown) => reservations.set(reservationId, { status, items });
  const phone = { held: 0, sold: 0 };

  const quantities = [1, 2, 1, 3, 1, 1];
  const ids: string[] = [];
  for (const [i, quantity] of quantities.entries()) {
    const res = await expectStatus(url, 'POST', '/inventory/reserve', 201, { userId: `user-${i}`, sku: 'PHONE001', quantity });
    assert.equal(res.body.data.status, 'RESERVED');
    ack(res.body.data.reservationId, 'RESERVED', res.body.data.items);
    ids.push(res.body.data.reservationId);
    phone.held += quantity;
  }
  // A two-line reservation across the demo product and the created one.
  const multi = await expectStatus(url, 'POST', '/inventory/reserve', 201, {
    userId: 'user-multi',
    items: [
      { sku: 'KILLTEST-01', quantity: 2 },
      { sku: 'PHONE001', quantity: 1 },
    ],
  });
  ack(multi.body.data.reservationId, 'RESERVED', multi.body.data.items);
  phone.held += 1;

  // Confirm user-0, user-1, user-3 and the multi-line reservation; cancel user-2.
  for (const i of [0, 1, 3]) {
    const reservationId = ids[i] as string;
    const res = await expectStatus(url, 'POST', '/checkout/confirm', 201, { reservationId, userId: `user-${i}` });
    assert.equal(res.body.data.status, 'CONFIRMED');
    orders.set(res.body.data.orderId, res);
    const quantity = quantities[i] as number;
    phone.held -= quantity;
    phone.sold += quantity;
    ack(reservationId, 'CONFIRMED', res.body.data.items);
  }
  const multiOrder = await expectStatus(url, 'POST', '/checkout/confirm', 201, {
    reservationId: multi.body.data.reservationId,
    userId: 'user-multi',
  });
  orders.set(multiOrder.body.data.orderId, multiOrder);
  phone.held -= 1;
  phone.sold += 1;
  ack(multi.body.data.reservationId, 'CONFIRMED', multiOrder.body.data.items);

  const cancelled = await expectStatus(url, 'POST', '/inventory/reserve/cancel', 200, { reservationId: ids[2], userId: 'user-2' });
  assert.equal(cancelled.body.data.status, 'CANCELLED');
  ack(ids[2] as string, 'CANCELLED', cancelled.body.data.items);
  phone.held -= quantities[2] as number;

  const expectedPhone = {
    totalQuantity: 10 - phone.sold,
    reservedQuantity: phone.held,
    availableQuantity: 10 - phone.sold - phone.held,
    soldQuantity: phone.sold,
  };
  const expectedKillTest = { totalQuantity: 5, reservedQuantity: 0, availableQuantity: 5, soldQuantity: 2 };
  // What the server acknowledged just before the kill.
  assert.deepEqual(await productCounters(url, 'PHONE001'), expectedPhone);
  assert.deepEqual(await productCounters(url, 'KILLTEST-01'), expectedKillTest);
  assert.ok(first.stdout().includes(SEEDED_LINE), 'the first start on an empty file seeds the demo catalog');

  const killed = await first.stop('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');

  const second = await startServer(t, { databaseUrl: dbUrl });
  const url2 = second.baseUrl;

  for (const [reservationId, acked] of reservations) {
    const res = await expectStatus(url2, 'GET', `/reservation/${reservationId}`, 200);
    assert.equal(res.body.data.status, acked.status, `reservation ${reservationId}`);
    assert.deepEqual(res.body.data.items, acked.items, `items of reservation ${reservationId}`);
  }
  for (const [orderId, acked] of orders) {
    const res = await expectStatus(url2, 'GET', `/order/${orderId}`, 200);
    const { status, paymentStatus, totalPrice, items, reservationId, userId } = res.body.data;
    const want = acked.body.data;
    assert.deepEqual(
      { status, paymentStatus, totalPrice, items, reservationId, userId },
      {
        status: want.status,
        paymentStatus: want.paymentStatus,
        totalPrice: want.totalPrice,
        items: want.items,
        reservationId: want.reservationId,
        userId: want.userId,
      },
      `order ${orderId}`,
    );
  }
  assert.deepEqual(await productCounters(url2, 'PHONE001'), expectedPhone);
  assert.deepEqual(await productCounters(url2, 'KILLTEST-01'), expectedKillTest);

  // Not seeded a second time: no log line, the created product survives, and the count is 8 + 1.
  assert.ok(!second.stdout().includes(SEEDED_LINE), `the restart must not seed again:\n${second.stdout()}`);
  const products = await allProducts(url2);
  assert.equal(products.length, DEMO_CATALOG_SIZE + 1);
  assert.ok(products.some((p) => p.sku === 'KILLTEST-01'));

  // The ledger, summed over every page, gives the counters back.
  for (const [sku, expected] of [
    ['PHONE001', expectedPhone],
    ['KILLTEST-01', expectedKillTest],
  ] as const) {
    const rows = await allMovements(url2, sku);
    assert.ok(rows.length > 2, 'the ledger spans several pages of 2');
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'no ledger row appears on two pages');
    const sums = ledgerSums(rows);
    assert.deepEqual(
      { totalQuantity: sums.onHand, reservedQuantity: sums.reserved, soldQuantity: sums.sold },
      { totalQuantity: expected.totalQuantity, reservedQuantity: expected.reservedQuantity, soldQuantity: expected.soldQuantity },
      `ledger of ${sku}`,
    );
  }
});

test('start-up expires reservations that fell due while it was down', { timeout: 120_000 }, async (t) => {
  const dbUrl = `sqlite:${join(tempDir(t), 'x.db')}`;
  // A 1 ms TTL and an hour-long interval: only the start-up sweep can expire anything.
  const env = { RESERVATION_TTL: '1', CLEANUP_INTERVAL: '3600000' };
  const first = await startServer(t, { databaseUrl: dbUrl, env });

  const reserved = await expectStatus(first.baseUrl, 'POST', '/inventory/reserve', 201, {
    userId: 'sleepy',
    sku: 'LAPTOP001',
    quantity: 2,
  });
  const reservationId = reserved.body.data.reservationId as string;
  // Already due, but a plain product read does not expire it and the sweeper is not running yet.
  assert.equal((await productCounters(first.baseUrl, 'LAPTOP001')).reservedQuantity, 2);

  await first.stop('SIGKILL');
  const second = await startServer(t, { databaseUrl: dbUrl, env });

  assert.deepEqual(await productCounters(second.baseUrl, 'LAPTOP001'), {
    totalQuantity: 5,
    reservedQuantity: 0,
    availableQuantity: 5,
    soldQuantity: 0,
  });
  const rows = await allMovements(second.baseUrl, 'LAPTOP001');
  const expires = rows.filter((r) => r.reason === 'EXPIRE');
  assert.equal(expires.length, 1, 'the reservation expired exactly once');
  assert.equal(expires[0]?.deltaReserved, -2);
  assert.deepEqual(ledgerSums(rows), { onHand: 5, reserved: 0, sold: 0 });
  assert.ok(
    logLines(second.stdout()).some((l) => l.expired === 1 && String(l.msg).includes('fell due while stopped')),
    `the start-up sweep is logged:\n${second.stdout()}`,
  );

  const after = await http(second.baseUrl, 'GET', `/reservation/${reservationId}`);
  assert.equal(after.status, 200);
  assert.equal(after.body.data.status, 'EXPIRED');
});
