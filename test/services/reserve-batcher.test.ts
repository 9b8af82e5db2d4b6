// Batched one-line reserves (ReserveBatcher through ReservationService) on both stores that offer
// batchTransaction: the per-request rules and answers are those of one reserve at a time. The same
// cases run on SQLite (in memory, always) and on PostgreSQL (skipped without TEST_DATABASE_URL).
// SQLite adds in-order mode: a batch joins the store's queue at its first request, and later
// requests join it only while nothing else has been queued behind it, so arrival order holds
// across every kind of write.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { DomainEvents } from '../../src/domain/events.js';
import { uuidGenerator } from '../../src/domain/ids.js';
import type { Demand } from '../../src/domain/types.js';
import { ReservationService } from '../../src/services/reservation.service.js';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { createTestSchema, SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const TTL = 60_000;

/** A fresh store, service and clock per test, and the helpers every case uses. */
function useBatchedReserves<S extends Store>(open: () => Promise<{ store: S; close(): Promise<void> }>) {
  let close: () => Promise<void>;
  const h = {} as {
    store: S;
    service: ReservationService;
    created: string[];
    clock: ManualClock;
  };

  beforeEach(async () => {
    const opened = await open();
    close = opened.close;
    h.store = opened.store;
    const events = new DomainEvents();
    h.created = [];
    h.clock = new ManualClock(T0);
    events.on('reservation.created', ({ reservation }) => h.created.push(reservation.id));
    h.service = new ReservationService({ store: h.store, clock: h.clock, ids: uuidGenerator, events, reservationTtlMs: TTL });
  });
  afterEach(() => close());

  const seed = (sku: string, onHand: number, maxPerUser: number | null = null) =>
    h.store.transaction((tx) => tx.products.insert({ sku, productName: sku, priceMinor: 500, onHand, maxPerUser }, T0));
  const reserveLines = (userId: string, lines: Demand[]) =>
    h.service.reserve({ userId, lines }).then(
      (result) => ({ ok: true as const, ...result }),
      (err: unknown) => {
        if (!(err instanceof DomainError)) throw err;
        return { ok: false as const, code: err.code, details: err.details };
      },
    );
  const reserve = (userId: string, sku: string, quantity: number) => reserveLines(userId, [{ sku, quantity }]);
  const balance = async (sku: string) => (await h.store.transaction((tx) => tx.ledger.balances())).find((b) => b.sku === sku);

  return { h, seed, reserve, reserveLines, balance };
}

type BatchedReserves = ReturnType<typeof useBatchedReserves>;

/** The cases every store that batches reserves must pass. */
function batchedReserveCases({ h, seed, reserve, balance }: BatchedReserves): void {
  it('sixty concurrent buyers of three units: the first three in arrival order win, the ledger replays', async () => {
    await seed('HOT', 3);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => reserve(`user-${i}`, 'HOT', 1)));

    assert.deepEqual(results.map((r) => r.ok).slice(0, 4), [true, true, true, false]);
    assert.equal(results.filter((r) => r.ok).length, 3);
    for (const r of results.slice(3)) assert.deepEqual(r, { ok: false, code: 'INSUFFICIENT_INVENTORY', details: { sku: 'HOT', requested: 1, available: 0 } });
    assert.equal(h.created.length, 3);
    const b = await balance('HOT');
    assert.deepEqual([b?.reserved, b?.ledgerReserved, b?.liveReserved], [3, 3, 3]);
  });

  it('quantities are granted as if served one by one: with 3 left, 2 then 2 then 1 gives the first and the third', async () => {
    await seed('HOT', 3);
    const results = await Promise.all([reserve('a', 'HOT', 2), reserve('b', 'HOT', 2), reserve('c', 'HOT', 1)]);
    assert.deepEqual(results.map((r) => r.ok), [true, false, true]);
    assert.deepEqual(results[1], { ok: false, code: 'INSUFFICIENT_INVENTORY', details: { sku: 'HOT', requested: 2, available: 1 } });
    assert.equal((await balance('HOT'))?.reserved, 3);
  });

  it('a shopper already holding another sku keeps their turn: the first of two buyers of the last unit wins', async () => {
    await seed('HOT', 1);
    await seed('OTHER', 5);
    assert.equal((await reserve('early', 'OTHER', 1)).ok, true);
    const [early, late] = await Promise.all([reserve('early', 'HOT', 1), reserve('late', 'HOT', 1)]);
    assert.equal(early?.ok, true, 'a live reservation of another sku does not send its holder behind the batch');
    assert.deepEqual(late, { ok: false, code: 'INSUFFICIENT_INVENTORY', details: { sku: 'HOT', requested: 1, available: 0 } });
  });

  it('per-user rules hold inside a batch: the purchase limit, an unknown sku, a second identical reserve', async () => {
    await seed('LIMITED', 100, 2);
    const [over, within, ghost, first, again] = await Promise.all([
      reserve('a', 'LIMITED', 3),
      reserve('b', 'LIMITED', 2),
      reserve('c', 'NOPE', 1),
      reserve('d', 'LIMITED', 1),
      reserve('d', 'LIMITED', 1),
    ]);
    assert.deepEqual(over, { ok: false, code: 'PURCHASE_LIMIT_EXCEEDED', details: { sku: 'LIMITED', maxPerUser: 2, alreadyHeld: 0, requested: 3 } });
    assert.equal(within?.ok, true);
    assert.deepEqual(ghost, { ok: false, code: 'PRODUCT_NOT_FOUND', details: { sku: 'NOPE' } });
    assert.ok(first?.ok && again?.ok);
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true, 'the same user\'s identical reserve is answered with the live one');
    assert.equal(again.reservation.id, first.reservation.id);
    const more = await reserve('d', 'LIMITED', 2);
    assert.equal(more.ok ? 'ok' : more.code, 'RESERVATION_CONFLICT');
    const b = await balance('LIMITED');
    assert.deepEqual([b?.reserved, b?.ledgerReserved, b?.liveReserved], [3, 3, 3]);
  });

  it('units of due reservations are released for a batch rather than refused', async () => {
    await seed('HOT', 2);
    assert.equal((await reserve('old-1', 'HOT', 1)).ok, true);
    assert.equal((await reserve('old-2', 'HOT', 1)).ok, true);
    h.clock.advance(TTL);
    const results = await Promise.all([reserve('new-1', 'HOT', 1), reserve('new-2', 'HOT', 1), reserve('new-3', 'HOT', 1)]);
    assert.deepEqual(results.map((r) => r.ok), [true, true, false]);
    const b = await balance('HOT');
    assert.deepEqual([b?.reserved, b?.ledgerReserved, b?.liveReserved], [2, 2, 2]);
  });
}

describe('batched reserves on SQLite', () => {
  const ctx = useBatchedReserves(async () => {
    const store = new SqliteStore({ filename: ':memory:' });
    return { store, close: () => store.close() };
  });
  batchedReserveCases(ctx);

  const { h, seed, reserve, reserveLines, balance } = ctx;

  it('a multi-line reserve arriving between one-line reserves is served in its turn', async () => {
    await seed('HOT', 2);
    await seed('OTHER', 5);
    // Had c joined a's batch (queued ahead of b's transaction), a and c would take both units and b would be refused.
    const [a, b, c] = await Promise.all([
      reserve('a', 'HOT', 1),
      reserveLines('b', [{ sku: 'HOT', quantity: 1 }, { sku: 'OTHER', quantity: 1 }]),
      reserve('c', 'HOT', 1),
    ]);
    assert.equal(a.ok, true);
    assert.equal(b.ok, true);
    assert.deepEqual(c, { ok: false, code: 'INSUFFICIENT_INVENTORY', details: { sku: 'HOT', requested: 1, available: 0 } });
    assert.equal(h.created.length, 2);
    assert.deepEqual([(await balance('HOT'))?.reserved, (await balance('OTHER'))?.reserved], [2, 1]);
  });

  it('one-line reserves that arrive together share one transaction', async () => {
    await seed('HOT', 100);
    const before = h.store.writeQueue.queued();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => reserve(`user-${i}`, 'HOT', 1)));
    assert.equal(h.store.writeQueue.queued() - before, 1);
    assert.equal(results.filter((r) => r.ok && !r.replayed).length, 20);
    assert.equal(h.created.length, 20);
    assert.equal((await balance('HOT'))?.reserved, 20);
  });

  it('the same user twice in one burst: the second waits for the next batch and is answered as a replay', async () => {
    await seed('HOT', 10);
    const before = h.store.writeQueue.queued();
    const burst = Promise.all([reserve('a', 'HOT', 1), reserve('a', 'HOT', 1)]);
    assert.equal(h.store.writeQueue.queued() - before, 2, 'the second request cannot join a batch that already has its user');
    const [first, second] = await burst;
    assert.ok(first.ok && second.ok);
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(second.reservation.id, first.reservation.id);
    // A user who already holds a live reservation is left to the one-at-a-time path, in a transaction of its own.
    assert.equal(h.store.writeQueue.queued() - before, 3);
    assert.equal(h.created.length, 1);
    assert.equal((await balance('HOT'))?.reserved, 1);
  });
});

describe('batched reserves on PostgreSQL', { skip: SKIP_WITHOUT_POSTGRES }, () => {
  batchedReserveCases(
    useBatchedReserves(async () => {
      const schema = await createTestSchema();
      const store = await PgStore.open({ connectionString: schema.url, poolSize: 5 });
      return {
        store,
        close: async () => {
          await store.close();
          await schema.drop();
        },
      };
    }),
  );
});
