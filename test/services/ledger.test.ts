import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createProduct, get, post, reserve, startTestApp, TTL_MS, type TestApp } from '../helpers/test-app.js';

interface Movement {
  deltaOnHand: number;
  deltaReserved: number;
  deltaSold: number;
  reason: string;
}

describe('the stock ledger', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ seed: true });
  });
  after(() => t.close());

  async function ledgerOf(sku: string): Promise<Movement[]> {
    const rows: Movement[] = [];
    let url = `/inventory/${sku}/movements?limit=7`;
    for (;;) {
      const page = await get(t, url);
      rows.push(...page.body.data);
      if (!page.body.meta.nextCursor) return rows;
      url = `/inventory/${sku}/movements?limit=7&cursor=${page.body.meta.nextCursor}`;
    }
  }

  it('replays to exactly the counters after every kind of movement', async () => {
    await createProduct(t, { sku: 'MIXED', totalQuantity: 40 });
    await createProduct(t, { sku: 'MIXED2', totalQuantity: 20 });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await post(t, '/inventory/reserve', {
        userId: `m${i}`,
        items: [{ sku: 'MIXED', quantity: 1 + (i % 3) }, { sku: 'MIXED2', quantity: 1 }],
      });
      assert.equal(res.status, 201, res.raw);
      ids.push(res.body.data.reservationId);
    }
    const orders: string[] = [];
    for (let i = 0; i < 4; i++) orders.push((await post(t, '/checkout/confirm', { reservationId: ids[i], userId: `m${i}` })).body.data.orderId);
    await post(t, '/checkout/cancel', { orderId: orders[0], userId: 'm0' });
    await post(t, `/order/${orders[1]}/payment`, { status: 'SUCCESS' });
    await post(t, `/order/${orders[2]}/payment`, { status: 'FAILED' });
    await post(t, '/inventory/reserve/cancel', { reservationId: ids[4], userId: 'm4' });
    await post(t, '/checkout/cancel', { reservationId: ids[5], userId: 'm5' });
    t.clock.advance(TTL_MS);
    await t.sweeper.runOnce();
    await reserve(t, 'after', 'MIXED', 5);

    for (const sku of ['MIXED', 'MIXED2', 'LAPTOP001']) {
      const ledger = await ledgerOf(sku);
      const sum = (k: keyof Omit<Movement, 'reason'>) => ledger.reduce((acc, m) => acc + m[k], 0);
      const product = (await get(t, `/inventory/${sku}`)).body.data;
      assert.equal(sum('deltaOnHand'), product.totalQuantity, sku);
      assert.equal(sum('deltaReserved'), product.reservedQuantity, sku);
      assert.equal(sum('deltaSold'), product.soldQuantity, sku);
      const received = ledger.filter((m) => m.reason === 'RECEIVE').reduce((acc, m) => acc + m.deltaOnHand, 0);
      assert.equal(product.totalQuantity + product.soldQuantity, received, `${sku}: on_hand + sold = received`);
      if (sku !== 'LAPTOP001') {
        assert.deepEqual(
          [...new Set(ledger.map((m) => m.reason))].sort(),
          ['CONFIRM', 'EXPIRE', 'RECEIVE', 'RELEASE', 'RESERVE', 'RESTOCK'],
        );
      }
    }
  });
});
