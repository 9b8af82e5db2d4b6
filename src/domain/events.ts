import { EventEmitter } from 'node:events';
import type { Order, Reservation } from './types.js';

/** Emitted after the transaction that caused them has committed. */
export interface EventMap {
  'reservation.created': { reservation: Reservation };
  'reservation.cancelled': { reservation: Reservation };
  'reservation.expired': { reservationId: string; skus: string[] };
  'order.confirmed': { order: Order };
  'order.cancelled': { order: Order };
  'order.completed': { order: Order };
  /** Units went back on sale or were added (after commit). */
  'stock.changed': { skus: string[] };
  /**
   * The same, but fired at once, inside the transaction that releases the units: a cached
   * "sold out" must not outlive the release even for the rest of a group-committed batch. If the
   * transaction then rolls back, the only cost is a cache miss.
   */
  'stock.released': { skus: string[] };
}

export class DomainEvents {
  private readonly emitter = new EventEmitter();

  on<K extends keyof EventMap>(name: K, listener: (payload: EventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  emit<K extends keyof EventMap>(name: K, payload: EventMap[K]): void {
    this.emitter.emit(name, payload);
  }
}
