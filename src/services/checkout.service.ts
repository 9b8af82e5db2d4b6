import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { DomainEvents } from '../domain/events.js';
import type { IdGenerator } from '../domain/ids.js';
import { canMoveOrder } from '../domain/state-machine.js';
import type { Order, PaymentStatus, Reservation } from '../domain/types.js';
import type { Store, StoreTx } from '../storage/store.js';
import { notYours, type OwnershipPolicy } from './ownership.js';
import { notFound } from './reservation.service.js';
import { expireIfDue, releaseReservation } from './reservation-lifecycle.js';
import { atomically, commit, refuse, type AfterEffect, type Emit, type Ending } from './unit-of-work.js';

export interface CheckoutServiceDeps {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  events: DomainEvents;
  /** Defaults to `reveal`: 403 for someone else's reservation or order. */
  ownership?: OwnershipPolicy;
}

export interface ConfirmResult {
  order: Order;
  /** true when the reservation had already been confirmed and its order is returned again. */
  replayed: boolean;
}

export type CancelCheckoutTarget = { orderId: string } | { reservationId: string };
/** `repeated`: it was already cancelled, and this call changed nothing. */
export type CancelCheckoutResult = ({ kind: 'order'; order: Order } | { kind: 'reservation'; reservation: Reservation }) & { repeated: boolean };

export class CheckoutService {
  constructor(private readonly deps: CheckoutServiceDeps) {}

  confirm(reservationId: string, userId: string, afterEffect?: AfterEffect<ConfirmResult>): Promise<ConfirmResult> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit) => {
      const now = clock.now();
      const found = await tx.reservations.get(reservationId);
      if (!found) return refuse(notFound(reservationId));
      if (found.userId !== userId) return refuse(this.notYours('reservation', found.id));
      const reservation = await expireIfDue(tx, found, now, emit);
      const replay = async (): Promise<Ending<ConfirmResult>> => {
        const existing = await this.existingOrder(tx, reservationId);
        if (existing instanceof DomainError) return refuse(existing);
        await afterEffect?.(tx, existing);
        return commit(existing);
      };
      switch (reservation.status) {
        case 'CONFIRMED':
          return replay();
        case 'EXPIRED':
          return refuse(
            new DomainError('RESERVATION_EXPIRED', 'Cannot confirm expired reservation', {
              reservationId,
              expiresAt: new Date(reservation.expiresAt).toISOString(),
            }),
          );
        case 'CANCELLED':
          return refuse(
            new DomainError('INVALID_STATE', 'Cannot confirm a cancelled reservation', {
              reservationId,
              status: reservation.status,
            }),
          );
        case 'RESERVED':
          break;
      }
      // Lost the compare-and-set: a concurrent confirm won, so answer with its order.
      if (!(await tx.reservations.move(reservationId, 'RESERVED', 'CONFIRMED', now))) return replay();
      const order: Order = {
        id: this.deps.ids(),
        userId,
        reservationId,
        items: reservation.items,
        totalMinor: reservation.items.reduce((sum, item) => sum + item.quantity * item.unitPriceMinor, 0),
        status: 'CONFIRMED',
        paymentStatus: 'PENDING',
        createdAt: now,
        updatedAt: now,
        cancelledAt: null,
        completedAt: null,
      };
      const result = { order, replayed: false };
      await tx.orders.insert(order);
      await afterEffect?.(tx, result);
      // The product rows are taken last, so the transaction commits right after locking them.
      await tx.products.move(
        reservation.items.map((item) => ({
          sku: item.sku,
          deltaOnHand: -item.quantity,
          deltaReserved: -item.quantity,
          deltaSold: item.quantity,
          reason: 'CONFIRM' as const,
          refId: reservationId,
          at: now,
        })),
      );
      emit('order.confirmed', { order });
      return commit(result);
    });
  }

  private async existingOrder(tx: StoreTx, reservationId: string): Promise<ConfirmResult | DomainError> {
    const order = await tx.orders.getByReservation(reservationId);
    if (!order) return new DomainError('INVALID_STATE', 'Reservation is no longer open', { reservationId });
    // A cancelled order is not a purchase that stands: answering it as "already confirmed" would
    // let a client that reads only the status code believe it.
    if (order.status === 'CANCELLED') {
      return new DomainError('INVALID_STATE', `Order ${order.id} was cancelled; it cannot be confirmed again`, {
        reservationId,
        orderId: order.id,
        status: order.status,
      });
    }
    return { order, replayed: true };
  }

  /** Cancels an order (restocking its units) or a still-open reservation (releasing them). */
  cancel(
    target: CancelCheckoutTarget,
    userId: string,
    afterEffect?: AfterEffect<CancelCheckoutResult>,
  ): Promise<CancelCheckoutResult> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit): Promise<Ending<CancelCheckoutResult>> => {
      const now = clock.now();
      if ('orderId' in target) {
        const order = await tx.orders.get(target.orderId);
        if (!order) return refuse(orderNotFound(target.orderId));
        if (order.userId !== userId) return refuse(this.notYours('order', order.id));
        return this.cancelOrder(tx, order, order.paymentStatus, now, emit);
      }
      const found = await tx.reservations.get(target.reservationId);
      if (!found) return refuse(notFound(target.reservationId));
      if (found.userId !== userId) return refuse(this.notYours('reservation', found.id));
      const reservation = await expireIfDue(tx, found, now, emit);
      switch (reservation.status) {
        case 'RESERVED': {
          const cancelled = await releaseReservation(tx, reservation, 'CANCELLED', now, emit);
          return cancelled ? commit({ kind: 'reservation', reservation: cancelled, repeated: false }) : refuse(stateError(reservation.status));
        }
        case 'CANCELLED':
          return commit({ kind: 'reservation', reservation, repeated: true });
        case 'EXPIRED':
          return refuse(new DomainError('RESERVATION_EXPIRED', 'Reservation has expired', { reservationId: reservation.id }));
        case 'CONFIRMED': {
          const order = await tx.orders.getByReservation(reservation.id);
          return order ? this.cancelOrder(tx, order, order.paymentStatus, now, emit) : refuse(stateError(reservation.status));
        }
      }
    }, afterEffect);
  }

  private async cancelOrder(
    tx: StoreTx,
    order: Order,
    paymentStatus: PaymentStatus,
    now: number,
    emit: Emit,
  ): Promise<Ending<{ kind: 'order'; order: Order; repeated: boolean }>> {
    if (order.status === 'CANCELLED') return commit({ kind: 'order', order, repeated: true });
    if (!canMoveOrder(order.status, 'CANCELLED')) {
      return refuse(
        new DomainError('INVALID_STATE', `A ${order.status.toLowerCase()} order cannot be cancelled`, {
          orderId: order.id,
          status: order.status,
        }),
      );
    }
    if (!(await tx.orders.move(order.id, 'CONFIRMED', 'CANCELLED', paymentStatus, now))) {
      const current = await tx.orders.get(order.id);
      return current ? this.cancelOrder(tx, current, paymentStatus, now, emit) : refuse(orderNotFound(order.id));
    }
    await tx.products.move(
      order.items.map((item) => ({
        sku: item.sku,
        deltaOnHand: item.quantity,
        deltaReserved: 0,
        deltaSold: -item.quantity,
        reason: 'RESTOCK' as const,
        refId: order.id,
        at: now,
      })),
    );
    const cancelled: Order = { ...order, status: 'CANCELLED', paymentStatus, updatedAt: now, cancelledAt: now };
    emit('order.cancelled', { order: cancelled });
    emit('stock.changed', { skus: order.items.map((item) => item.sku) });
    return commit({ kind: 'order', order: cancelled, repeated: false });
  }

  /** `viewer`, when given, must own it; otherwise it is answered per the ownership policy. */
  getOrder(orderId: string, viewer?: string): Promise<Order> {
    const { store, events } = this.deps;
    return atomically(store, events, async (tx) => {
      const order = await tx.orders.get(orderId);
      if (!order) return refuse(orderNotFound(orderId));
      return viewer !== undefined && order.userId !== viewer ? refuse(this.notYours('order', orderId)) : commit(order);
    });
  }

  private notYours(kind: 'reservation' | 'order', id: string): DomainError {
    return notYours(this.deps.ownership ?? 'reveal', kind, kind === 'order' ? orderNotFound(id) : notFound(id));
  }

  /** SUCCESS completes the order; FAILED cancels it and restocks. Repeating the same outcome is a no-op. */
  recordPayment(orderId: string, status: 'SUCCESS' | 'FAILED', afterEffect?: AfterEffect<Order>): Promise<Order> {
    const { store, clock, events } = this.deps;
    return atomically(store, events, async (tx, emit): Promise<Ending<Order>> => {
      const now = clock.now();
      const order = await tx.orders.get(orderId);
      if (!order) return refuse(orderNotFound(orderId));
      if (order.paymentStatus === status) return commit(order);
      if (!canMoveOrder(order.status, status === 'SUCCESS' ? 'COMPLETED' : 'CANCELLED')) {
        return refuse(
          new DomainError('INVALID_STATE', `Cannot record payment ${status} on a ${order.status} order`, {
            orderId,
            status: order.status,
            paymentStatus: order.paymentStatus,
          }),
        );
      }
      if (status === 'FAILED') {
        const ending = await this.cancelOrder(tx, order, 'FAILED', now, emit);
        return ending.end === 'commit' ? commit(ending.value.order) : ending;
      }
      if (!(await tx.orders.move(orderId, 'CONFIRMED', 'COMPLETED', 'SUCCESS', now))) {
        const current = await tx.orders.get(orderId);
        return current ? commit(current) : refuse(orderNotFound(orderId));
      }
      const completed: Order = { ...order, status: 'COMPLETED', paymentStatus: 'SUCCESS', updatedAt: now, completedAt: now };
      emit('order.completed', { order: completed });
      return commit(completed);
    }, afterEffect);
  }
}

const orderNotFound = (orderId: string): DomainError => new DomainError('ORDER_NOT_FOUND', 'Order not found', { orderId });

const stateError = (status: string): DomainError =>
  new DomainError('INVALID_STATE', `Reservation is ${status}`, { status });
