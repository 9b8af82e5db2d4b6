import { DomainError } from '../domain/errors.js';

/**
 * How someone else's reservation or order is answered. `reveal` is the open contract (no
 * authentication): 403 NOT_OWNER. `hide` is for authenticated callers: the same 404 as an
 * unknown id, so a customer can't learn which ids exist by probing them.
 */
export type OwnershipPolicy = 'reveal' | 'hide';

export function notYours(policy: OwnershipPolicy, kind: 'reservation' | 'order', id: string): DomainError {
  if (policy === 'hide') {
    return kind === 'reservation'
      ? new DomainError('RESERVATION_NOT_FOUND', 'Reservation not found', { reservationId: id })
      : new DomainError('ORDER_NOT_FOUND', 'Order not found', { orderId: id });
  }
  return new DomainError('NOT_OWNER', `This ${kind} belongs to another user`);
}
