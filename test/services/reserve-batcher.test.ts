// Batched one-line reserves on PostgreSQL (ReserveBatcher through ReservationService), on a store
// that offers batchTransaction: the per-request rules and answers are those of one reserve at a time.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import { DomainEvents } from '../../src/domain/events.js';
import { uuidGenerator } from '../../src/domain/ids.js';
import { ReservationService } from '../../src/services/reservation.service.js';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { createTestSchema, SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const TTL = 60_000;

describe('batched reserves on PostgreSQL', { skip: SKIP_WITHOUT_POSTGRES }, () => {
  let store: PgStore;
  let drop: () => Promise<void>;
  let service: ReservationService;
  let created: string[];
  let clock: ManualClock;

  beforeEach(async () => {
    const schema = await createTestSchema();
    drop = schema.drop;
    store = await PgStore.open({ connectionString: schema.url, poolSize: 5 });
    const events = new DomainEvents();
    created = [];
    clock = new ManualClock(T0);
    events.on('reservation.created', ({ reservation }) => created.push(reservation.id));
    service = new ReservationService({ store, clock, ids: uuidGenerator, events, reservationTtlMs: TTL });
  });
  afterEach(async () => {
    await store.close();
    await drop();
  });

  const seed = (sku: string, onHand: number, maxPerUser: number | null = null) =>
    store.transaction((tx) => tx.insertProduct({ sku, productName: sku, priceMinor: 500, onHand, maxPerUser }, T0));
  const reserve = (userId: string, sku: string, quantity: number) =>
    service.reserve({ userId, lines: [{ sku, quantity }] }).then(
      (result) => ({ ok: true as const, ...result }),
      (err: unknown) => {
        if (!(err instanceof DomainError)) throw err;
        return { ok: false as const, code: err.code, details: err.details };
      },
    );
  const balance = async (sku: string) => (await store.transaction((tx) => tx.productBalances())).find((b) => b.sku === sku);

  it('sixty concurrent buyers of three units: the first three in arrival order win, the ledger replays', async () => {
    await seed('HOT', 3);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => reserve(`user-${i}`, 'HOT', 1)));

    assert.deepEqual(results.map((r) => r.ok).slice(0, 4), [true, true, true, false]);
    assert.equal(results.filter((r) => r.ok).length, 3);
    for (const r of results.slice(3)) assert.deepEqual(r, { ok: false, code: 'INSUFFICIENT_INVENTORY', details: { sku: 'HOT', requested: 1, available: 0 } });
    assert.equal(created.length, 3);
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
    clock.advance(TTL);
    const results = await Promise.all([reserve('new-1', 'HOT', 1), reserve('new-2', 'HOT', 1), reserve('new-3', 'HOT', 1)]);
    assert.deepEqual(results.map((r) => r.ok), [true, true, false]);
    const b = await balance('HOT');
    assert.deepEqual([b?.reserved, b?.ledgerReserved, b?.liveReserved], [2, 2, 2]);
  });
});
