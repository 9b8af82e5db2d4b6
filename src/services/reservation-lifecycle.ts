import { canMoveReservation } from '../domain/state-machine.js';
import type { LineItem, NewStockMovement, Reservation } from '../domain/types.js';
import type { StoreTx } from '../storage/store.js';
import type { Emit } from './unit-of-work.js';

interface Ending {
  reservation: Reservation;
  movements: NewStockMovement[];
}

/**
 * Moves a live reservation out of RESERVED, exactly once: a compare-and-set on its status.
 * Returns the units to give back; the caller moves them, so several endings can share one move.
 */
async function endReservation(
  tx: StoreTx,
  reservation: Reservation,
  to: 'CANCELLED' | 'EXPIRED',
  now: number,
): Promise<Ending | null> {
  if (!canMoveReservation(reservation.status, to)) return null;
  if (!(await tx.reservations.move(reservation.id, 'RESERVED', to, now))) return null;
  const reason = to === 'EXPIRED' ? 'EXPIRE' : 'RELEASE';
  return {
    reservation: {
      ...reservation,
      status: to,
      updatedAt: now,
      cancelledAt: to === 'CANCELLED' ? now : reservation.cancelledAt,
      expiredAt: to === 'EXPIRED' ? now : reservation.expiredAt,
    },
    movements: reservation.items.map((item) => ({
      sku: item.sku,
      deltaOnHand: 0,
      deltaReserved: -item.quantity,
      deltaSold: 0,
      reason,
      refId: reservation.id,
      at: now,
    })),
  };
}

/**
 * Gives back the units of ended reservations in one move, in sku order, as the last step: on
 * PostgreSQL that is one statement, so product rows stay locked only until the commit.
 */
async function giveBack(tx: StoreTx, endings: readonly Ending[], emit: Emit): Promise<void> {
  if (endings.length === 0) return;
  const movements = endings.flatMap((ending) => ending.movements);
  await tx.products.move(movements.sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0)));
  for (const { reservation } of endings) {
    const skus = reservation.items.map((item) => item.sku);
    if (reservation.status === 'EXPIRED') emit('reservation.expired', { reservationId: reservation.id, skus });
    else emit('reservation.cancelled', { reservation });
  }
  emit('stock.changed', { skus: [...new Set(movements.map((m) => m.sku))] });
}

/** Ends a live reservation and gives its units back; null when it was no longer live. */
export async function releaseReservation(
  tx: StoreTx,
  reservation: Reservation,
  to: 'CANCELLED' | 'EXPIRED',
  now: number,
  emit: Emit,
): Promise<Reservation | null> {
  const ending = await endReservation(tx, reservation, to, now);
  if (!ending) return null;
  await giveBack(tx, [ending], emit);
  return ending.reservation;
}

/** A reservation past its expiry is expired, whether or not the sweeper has got to it. */
export async function expireIfDue(tx: StoreTx, reservation: Reservation, now: number, emit: Emit): Promise<Reservation> {
  if (reservation.status !== 'RESERVED' || reservation.expiresAt > now) return reservation;
  const expired = await releaseReservation(tx, reservation, 'EXPIRED', now, emit);
  // Lost the compare-and-set to a concurrent move (another instance's sweeper): read what it became.
  return expired ?? (await tx.reservations.get(reservation.id)) ?? reservation;
}

/** Expires the given reservations that are still live and due, giving all their units back at once. */
export async function expireByIds(tx: StoreTx, ids: readonly string[], now: number, emit: Emit): Promise<number> {
  const endings: Ending[] = [];
  for (const id of ids) {
    const reservation = await tx.reservations.get(id);
    if (!reservation || reservation.status !== 'RESERVED' || reservation.expiresAt > now) continue;
    const ending = await endReservation(tx, reservation, 'EXPIRED', now);
    if (ending) endings.push(ending);
  }
  await giveBack(tx, endings, emit);
  return endings.length;
}

/** A new live reservation, as both reserve paths (one at a time, and batched) create it. */
export function openReservation(id: string, userId: string, items: LineItem[], now: number, ttlMs: number): Reservation {
  return {
    id,
    userId,
    status: 'RESERVED',
    items,
    expiresAt: now + ttlMs,
    createdAt: now,
    updatedAt: now,
    confirmedAt: null,
    cancelledAt: null,
    expiredAt: null,
  };
}

/** Most due reservations one look at a short sku expires. */
const DUE_SCAN_LIMIT = 1000;

/**
 * Stock held by an expired reservation is never refused: when `sku` comes up short, the units its
 * due reservations still hold go back on sale. True when any did, and the caller should look again.
 */
export async function releasedDueUnits(tx: StoreTx, sku: string, now: number, emit: Emit): Promise<boolean> {
  const due = await tx.reservations.findDue(now, DUE_SCAN_LIMIT, { sku });
  return (await expireByIds(tx, due, now, emit)) > 0;
}
