import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { IDEMPOTENCY_TTL_MS } from '../../src/services/idempotency.service.js';
import { createProduct, post, productOf, startTestApp, type TestApp } from '../helpers/test-app.js';

describe('Idempotency-Key', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp();
    await createProduct(t, { sku: 'DROP', totalQuantity: 100 });
    await createProduct(t, { sku: 'KEPT', totalQuantity: 1 });
  });
  afterEach(() => t.close());

  const reserveWithKey = (key: string, body: Record<string, unknown> = { userId: 'u', sku: 'DROP', quantity: 2 }) =>
    post(t, '/inventory/reserve', body, { 'idempotency-key': key });

  it('a replay is byte-identical, with the same status and Idempotent-Replayed: true', async () => {
    const first = await reserveWithKey('k-1');
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    t.clock.advance(5_000);
    const replay = await reserveWithKey('k-1');
    assert.equal(replay.status, 201);
    assert.equal(replay.raw, first.raw);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal((await productOf(t, 'DROP')).reservedQuantity, 2);
  });

  it('the same key with a different body is 422 IDEMPOTENCY_KEY_MISMATCH', async () => {
    await reserveWithKey('k-2');
    const res = await reserveWithKey('k-2', { userId: 'u', sku: 'DROP', quantity: 3 });
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'IDEMPOTENCY_KEY_MISMATCH');
    const otherRoute = await post(t, '/checkout/confirm', { reservationId: 'x', userId: 'u' }, { 'idempotency-key': 'k-2' });
    assert.equal(otherRoute.status, 422);
  });

  it('a body with the same fields in another order is the same request', async () => {
    const first = await reserveWithKey('k-3', { userId: 'u', sku: 'DROP', quantity: 2 });
    const replay = await reserveWithKey('k-3', { quantity: 2, sku: 'DROP', userId: 'u' });
    assert.equal(replay.raw, first.raw);
  });

  it('keys are scoped by userId: two users may use the same key', async () => {
    const a = await reserveWithKey('shared', { userId: 'a', sku: 'DROP', quantity: 1 });
    const b = await reserveWithKey('shared', { userId: 'b', sku: 'DROP', quantity: 1 });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.notEqual(a.body.data.reservationId, b.body.data.reservationId);
  });

  it('a key on a route without a shopper is scoped to the concrete path: one key pays two orders', async () => {
    const orderFor = async (userId: string) => {
      const held = await post(t, '/inventory/reserve', { userId, sku: 'DROP', quantity: 1 });
      return (await post(t, '/checkout/confirm', { userId, reservationId: held.body.data.reservationId })).body.data.orderId as string;
    };
    const [first, second] = [await orderFor('p1'), await orderFor('p2')];
    const pay = (orderId: string) => post(t, `/order/${orderId}/payment`, { status: 'SUCCESS' }, { 'idempotency-key': 'payment-1' });
    const paid = [await pay(first), await pay(second)];
    assert.deepEqual(paid.map((r) => [r.status, r.body.data.orderId, r.body.data.paymentStatus]), [
      [200, first, 'SUCCESS'],
      [200, second, 'SUCCESS'],
    ]);
    const replay = await pay(second);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.raw, paid[1]?.raw);
  });

  it('fifty parallel requests with one key: one effect, every other answer a replay or 409 IDEMPOTENCY_IN_PROGRESS', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => reserveWithKey('storm')));
    const created = results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
    const replayed = results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === 'true');
    const inProgress = results.filter((r) => r.status === 409);
    assert.equal(created.length, 1);
    assert.equal(created.length + replayed.length + inProgress.length, 50);
    for (const r of replayed) assert.equal(r.raw, created[0]?.raw);
    for (const r of inProgress) assert.equal(r.body.code, 'IDEMPOTENCY_IN_PROGRESS');
    assert.equal((await productOf(t, 'DROP')).reservedQuantity, 2);
    const replay = await reserveWithKey('storm');
    assert.equal(replay.raw, created[0]?.raw);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
  });

  it('a business refusal is stored and replayed too; it holds nothing', async () => {
    const refused = await reserveWithKey('k-4', { userId: 'u', sku: 'DROP', quantity: 101 });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'INSUFFICIENT_INVENTORY');
    const replay = await reserveWithKey('k-4', { userId: 'u', sku: 'DROP', quantity: 101 });
    assert.equal(replay.raw, refused.raw);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
  });

  it('confirm, cancel, create and payment honour the key as well', async () => {
    const r = (await reserveWithKey('r')).body.data;
    const confirm = () => post(t, '/checkout/confirm', { reservationId: r.reservationId, userId: 'u' }, { 'idempotency-key': 'c' });
    const c1 = await confirm();
    const c2 = await confirm();
    assert.equal(c1.status, 201);
    assert.equal(c2.status, 201);
    assert.equal(c2.raw, c1.raw);
    assert.equal(c2.headers['idempotent-replayed'], 'true');
    const pay = () => post(t, `/order/${c1.body.data.orderId}/payment`, { status: 'SUCCESS' }, { 'idempotency-key': 'p' });
    const [pay1, pay2] = [await pay(), await pay()];
    assert.equal(pay1.status, 200);
    assert.equal(pay2.raw, pay1.raw);
    assert.equal(pay2.headers['idempotent-replayed'], 'true');
    const other = (await post(t, '/inventory/reserve', { userId: 'u', sku: 'KEPT', quantity: 1 })).body.data;
    const cancel = () => post(t, '/inventory/reserve/cancel', { reservationId: other.reservationId, userId: 'u' }, { 'idempotency-key': 'x' });
    const [x1, x2] = [await cancel(), await cancel()];
    assert.equal(x1.status, 200);
    assert.equal(x2.raw, x1.raw);
    assert.equal(x2.headers['idempotent-replayed'], 'true');
    const create = () =>
      post(t, '/inventory', { sku: 'KEYED', productName: 'Keyed', totalQuantity: 1, price: 1 }, { 'idempotency-key': 'i' });
    const p1 = await create();
    const p2 = await create();
    assert.equal(p1.status, 201);
    assert.equal(p2.status, 201);
    assert.equal(p2.headers['idempotent-replayed'], 'true');
  });

  it('a key expires after 24 hours; the sweeper prunes it', async () => {
    const first = await reserveWithKey('old', { userId: 'u', sku: 'DROP', quantity: 1 });
    await post(t, '/inventory/reserve/cancel', { reservationId: first.body.data.reservationId, userId: 'u' });
    t.clock.advance(IDEMPOTENCY_TTL_MS);
    const swept = await t.sweeper.runOnce();
    assert.equal(swept.prunedKeys, 1);
    const fresh = await reserveWithKey('old', { userId: 'u', sku: 'DROP', quantity: 1 });
    assert.equal(fresh.status, 201);
    assert.notEqual(fresh.body.data.reservationId, first.body.data.reservationId);
  });

  it('invalid input is not stored: the same key works once the body is corrected', async () => {
    const bad = await reserveWithKey('fixme', { userId: 'u', sku: 'bad sku!', quantity: 1 });
    assert.equal(bad.status, 400);
    const good = await reserveWithKey('fixme', { userId: 'u', sku: 'DROP', quantity: 1 });
    assert.equal(good.status, 201);
  });

  it('a malformed key is a 400 and has no effect', async () => {
    const res = await reserveWithKey('x'.repeat(256));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_ERROR');
    assert.equal((await productOf(t, 'DROP')).reservedQuantity, 0);
  });
});
