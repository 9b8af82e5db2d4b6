// Three real server processes with short TTLs, each running its own sweeper on one database:
// due reservations are claimed with SKIP LOCKED and a compare-and-set, so each expires once.
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
  sleep,
  startInstances,
  tally,
  testDatabase,
  type TestDatabase,
} from './scale-helpers.js';

const RESERVATIONS = 60;
const EXPIRY_WAIT_MS = 10_000;

describe('three sweepers with short TTLs', { skip: SKIP_WITHOUT_POSTGRES, timeout: 480_000 }, () => {
  const cleanups = new Cleanups();
  let db: TestDatabase;
  let instances: ServerProcess[] = [];

  before(async () => {
    db = await testDatabase(cleanups);
    instances = await startInstances(cleanups, db.url, 3, { RESERVATION_TTL: '300', CLEANUP_INTERVAL: '50' });
  });
  after(() => cleanups.run());

  test('three sweepers expire every reservation exactly once', async () => {
    const urls = instances.map((s) => s.baseUrl);
    const skus = ['SWEEP-A', 'SWEEP-B', 'SWEEP-C'];
    for (const [i, sku] of skus.entries()) await createProduct(pick(urls, i), sku, 100);

    const answers = await Promise.all(
      Array.from({ length: RESERVATIONS }, (_, i) =>
        send(pick(urls, i), 'POST', '/inventory/reserve', { userId: `sweep-${i}`, sku: pick(skus, i), quantity: 1 }),
      ),
    );
    assert.deepEqual(tally(answers), { '201': RESERVATIONS });
    const ids = answers.map((res) => res.body.data.reservationId as string).sort();

    // One of the few real-time waits: the TTL has to pass and the sweepers have to run. Meanwhile
    // every reservation is read through every instance, and a read expires what is due: the
    // sweepers race those lazy expiries too.
    const deadline = Date.now() + EXPIRY_WAIT_MS;
    for (let round = 0; ; round++) {
      const reads = await Promise.all(ids.map((id, i) => send(pick(urls, i + round), 'GET', `/reservation/${id}`)));
      for (const res of reads) {
        assert.equal(res.status, 200, res.raw);
        assert.ok(['RESERVED', 'EXPIRED'].includes(res.body.data.status), res.raw);
      }
      const [live] = await queryDatabase<{ n: number }>(db.url, `SELECT COUNT(*)::int AS n FROM reservations WHERE status = 'RESERVED'`);
      if (live?.n === 0) break;
      assert.ok(Date.now() < deadline, `${live?.n} reservations still RESERVED after ${EXPIRY_WAIT_MS} ms`);
      await sleep(25);
    }

    const statuses = await queryDatabase<{ status: string; n: number }>(
      db.url,
      'SELECT status, COUNT(*)::int AS n FROM reservations GROUP BY status',
    );
    assert.deepEqual(statuses, [{ status: 'EXPIRED', n: RESERVATIONS }]);
    const twice = await queryDatabase(
      db.url,
      `SELECT ref_id, COUNT(*)::int AS n FROM stock_movements WHERE reason = 'EXPIRE' GROUP BY ref_id HAVING COUNT(*) > 1`,
    );
    assert.deepEqual(twice, [], 'no reservation expired twice');
    const expired = await queryDatabase<{ ref_id: string }>(
      db.url,
      `SELECT ref_id FROM stock_movements WHERE reason = 'EXPIRE'`,
    );
    assert.deepEqual(expired.map((row) => row.ref_id).sort(), ids, 'exactly one EXPIRE row per reservation');
    for (const sku of skus) assert.deepEqual(await counters(db.url, sku), { sku, onHand: 100, reserved: 0, sold: 0 });
    await assertBooksBalance(db.url);
  });
});
