// The reserve policy on its own: a pure function, so every rule and their order are checked
// without a store. The services that carry its decisions out are tested through HTTP and the model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reservation } from '../../src/domain/types.js';
import { decideReserve, type ProductOnSale, type ShopperStanding } from '../../src/services/reserve-policy.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

const live = (id: string, lines: Array<[string, number]>): Reservation => ({
  id,
  userId: 'ann',
  status: 'RESERVED',
  items: lines.map(([sku, quantity]) => ({ sku, quantity, unitPriceMinor: 100 })),
  expiresAt: T0 + 60_000,
  createdAt: T0,
  updatedAt: T0,
  confirmedAt: null,
  cancelledAt: null,
  expiredAt: null,
});

const clean: ShopperStanding = { dueReservations: 0, holding: [], orderedUnits: () => 0 };
const onSale = (sku: string, available: number, maxPerUser: number | null = null): ProductOnSale => ({ sku, available, maxPerUser });

describe('the reserve policy', () => {
  it('holds when every rule passes', () => {
    assert.deepEqual(decideReserve(clean, [onSale('A', 5)], [{ sku: 'A', quantity: 5 }]), { kind: 'hold' });
  });

  it('expires the shopper\'s due reservations before any other rule, even for an unknown sku', () => {
    assert.deepEqual(decideReserve({ ...clean, dueReservations: 1 }, [], [{ sku: 'GHOST', quantity: 1 }]), { kind: 'expire-due' });
  });

  it('replays the one identical live reservation, and refuses any other as a conflict before looking at products', () => {
    const same = live('r-1', [['A', 2]]);
    assert.deepEqual(decideReserve({ ...clean, holding: [same] }, [], [{ sku: 'A', quantity: 2 }]), { kind: 'replay', reservation: same });
    const other = decideReserve({ ...clean, holding: [live('r-2', [['A', 1]])] }, [], [{ sku: 'A', quantity: 2 }]);
    assert.equal(other.kind === 'refuse' && other.error.code, 'RESERVATION_CONFLICT');
    assert.deepEqual(other.kind === 'refuse' && other.error.details, { reservationId: 'r-2', skus: ['A'] });
    const two = decideReserve({ ...clean, holding: [same, live('r-3', [['B', 1]])] }, [], [{ sku: 'A', quantity: 2 }]);
    assert.equal(two.kind === 'refuse' && two.error.code, 'RESERVATION_CONFLICT', 'two live reservations are never a replay');
  });

  it('names the first unknown sku of the demand before the purchase limit', () => {
    const decision = decideReserve(clean, [onSale('A', 0, 1)], [{ sku: 'A', quantity: 5 }, { sku: 'B', quantity: 1 }]);
    assert.equal(decision.kind === 'refuse' && decision.error.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(decision.kind === 'refuse' && decision.error.details, { sku: 'B' });
  });

  it('counts ordered units plus the demand against the purchase limit, before stock', () => {
    const standing = { ...clean, orderedUnits: (sku: string) => (sku === 'A' ? 2 : 0) };
    assert.deepEqual(decideReserve(standing, [onSale('A', 10, 3)], [{ sku: 'A', quantity: 1 }]), { kind: 'hold' });
    const over = decideReserve(standing, [onSale('A', 0, 3)], [{ sku: 'A', quantity: 2 }]);
    assert.equal(over.kind === 'refuse' && over.error.code, 'PURCHASE_LIMIT_EXCEEDED');
    assert.deepEqual(over.kind === 'refuse' && over.error.details, { sku: 'A', maxPerUser: 3, alreadyHeld: 2, requested: 2 });
  });

  it('reports the first line that does not fit, with what is on sale', () => {
    assert.deepEqual(
      decideReserve(clean, [onSale('A', 5), onSale('B', 1)], [{ sku: 'A', quantity: 5 }, { sku: 'B', quantity: 2 }]),
      { kind: 'short', sku: 'B', requested: 2, available: 1 },
    );
  });

  it('leaves to the full path what the facts given cannot decide: a counted holder, unknown holders, an unread limit', () => {
    const demand = [{ sku: 'A', quantity: 1 }];
    assert.deepEqual(decideReserve({ ...clean, holding: 1 }, [onSale('A', 0)], demand), { kind: 'full-path' });
    assert.deepEqual(decideReserve({ ...clean, holding: null }, [onSale('A', 0)], demand), { kind: 'full-path' });
    assert.deepEqual(decideReserve({ ...clean, holding: 0, orderedUnits: null }, [onSale('A', 0, 5)], demand), { kind: 'full-path' });
    assert.deepEqual(decideReserve({ ...clean, holding: 0, orderedUnits: null }, [onSale('A', 0)], demand), {
      kind: 'short', sku: 'A', requested: 1, available: 0,
    });
  });
});
