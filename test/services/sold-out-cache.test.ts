// SoldOutCache on its own, with real DomainEvents: the hint may only say "no" while what the store
// proved still holds, and refuses outright only those the full path could only refuse as sold out.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainEvents } from '../../src/domain/events.js';
import { SoldOutCache } from '../../src/services/sold-out-cache.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const MINUTE = 60_000;

describe('the sold-out cache', () => {
  let events: DomainEvents;
  let cache: SoldOutCache;
  let clock: ManualClock;
  // The store's count of discarded batches, as its write queue reports it.
  let discardedBatches = 0;

  beforeEach(() => {
    events = new DomainEvents();
    cache = new SoldOutCache(events, () => discardedBatches);
    clock = new ManualClock(T0);
  });

  it('a sku never marked is neither sold out nor refused', () => {
    assert.equal(cache.isSoldOut('HOT', clock.now()), false);
    assert.equal(cache.refusesOutright('HOT', 'u', clock.now()), false);
  });

  it('a marked sku refuses outright a user who holds none of it', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: ['a', 'b'], limited: false });
    assert.equal(cache.isSoldOut('HOT', clock.now()), true);
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), true);
    assert.equal(cache.refusesOutright('OTHER', 'c', clock.now()), false, 'only the sku marked');
  });

  it('a holder is never refused outright: the duplicate rule answers them', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: ['a', 'b'], limited: false });
    assert.equal(cache.refusesOutright('HOT', 'a', clock.now()), false);
    assert.equal(cache.refusesOutright('HOT', 'b', clock.now()), false);
    assert.equal(cache.isSoldOut('HOT', clock.now()), true);
  });

  it('a sku with a purchase limit is never refused outright: the limit is judged first', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: [], limited: true });
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), false);
    assert.equal(cache.isSoldOut('HOT', clock.now()), true);
  });

  it('when the holders were too many to list, nobody is refused outright', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: null, limited: false });
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), false);
    assert.equal(cache.isSoldOut('HOT', clock.now()), true);
  });

  it('an entry lapses the moment the earliest reservation falls due', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: ['a'], limited: false });
    clock.advance(MINUTE - 1);
    assert.equal(cache.isSoldOut('HOT', clock.now()), true);
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), true);
    clock.advance(1);
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), false);
    assert.equal(cache.isSoldOut('HOT', clock.now()), false);
  });

  it('without an expiry to wait for, an entry lasts until a release', () => {
    cache.markSoldOut('HOT', { until: null, holders: [], limited: false });
    clock.advance(365 * 24 * 60 * MINUTE);
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), true);
    events.emit('stock.released', { skus: ['HOT'] });
    assert.equal(cache.isSoldOut('HOT', clock.now()), false);
  });

  it('a release of the sku drops its entry, and only its entry', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: ['a'], limited: false });
    cache.markSoldOut('COLD', { until: T0 + MINUTE, holders: ['a'], limited: false });
    cache.markSoldOut('WARM', { until: T0 + MINUTE, holders: ['a'], limited: false });
    events.emit('stock.released', { skus: ['HOT', 'NEVER-MARKED'] });
    assert.equal(cache.isSoldOut('HOT', clock.now()), false);
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), false);
    assert.equal(cache.isSoldOut('COLD', clock.now()), true);
    events.emit('stock.released', { skus: ['COLD', 'WARM'] });
    assert.deepEqual([cache.isSoldOut('COLD', clock.now()), cache.isSoldOut('WARM', clock.now())], [false, false]);
  });

  it('other events leave entries alone', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: [], limited: false });
    events.emit('stock.changed', { skus: ['HOT'] });
    events.emit('reservation.expired', { reservationId: 'r-1', skus: ['HOT'] });
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), true);
  });

  it('marking a sku again replaces what was proved before', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: ['a'], limited: false });
    cache.markSoldOut('HOT', { until: T0 + 2 * MINUTE, holders: ['c'], limited: false });
    assert.equal(cache.refusesOutright('HOT', 'a', clock.now()), true);
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), false);
    clock.advance(MINUTE);
    assert.equal(cache.isSoldOut('HOT', clock.now()), true);
  });

  it('every entry is dropped once the store reports a discarded batch', () => {
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: [], limited: false });
    cache.markSoldOut('COLD', { until: null, holders: [], limited: false });
    discardedBatches++;
    assert.equal(cache.isSoldOut('HOT', clock.now()), false);
    assert.equal(cache.refusesOutright('COLD', 'c', clock.now()), false);
    // What is proved after the discard counts again.
    cache.markSoldOut('HOT', { until: T0 + MINUTE, holders: [], limited: false });
    assert.equal(cache.refusesOutright('HOT', 'c', clock.now()), true);
  });
});
