import type { OrderStatus, ReservationStatus } from './types.js';

/**
 * Every move leaves RESERVED, and the store applies it as a compare-and-set on the old status,
 * so a move happens at most once no matter how many requests race for it.
 */
const reservationMoves: Record<ReservationStatus, readonly ReservationStatus[]> = {
  RESERVED: ['CONFIRMED', 'CANCELLED', 'EXPIRED'],
  CONFIRMED: [],
  CANCELLED: [],
  EXPIRED: [],
};

const orderMoves: Record<OrderStatus, readonly OrderStatus[]> = {
  CONFIRMED: ['COMPLETED', 'CANCELLED'],
  COMPLETED: [],
  CANCELLED: [],
};

export const canMoveReservation = (from: ReservationStatus, to: ReservationStatus): boolean =>
  reservationMoves[from].includes(to);

export const canMoveOrder = (from: OrderStatus, to: OrderStatus): boolean => orderMoves[from].includes(to);
