import type { Clock } from '../domain/clock.js';
import type { CheckoutService } from '../services/checkout.service.js';
import type { InventoryService } from '../services/inventory.service.js';
import type { ReservationService } from '../services/reservation.service.js';
import type { Store } from '../storage/store.js';
import type { FastifyRequest } from 'fastify';
import { concretePath, type IdempotentResponder } from './idempotency.js';

export interface RouteDeps {
  store: Store;
  clock: Clock;
  inventory: InventoryService;
  reservations: ReservationService;
  checkout: CheckoutService;
  respond: IdempotentResponder;
}

/**
 * Idempotency keys are per shopper; calls without a shopper (admin, payment callbacks) are scoped
 * to the resource they name, the concrete path: one key may be used for two orders' payments.
 */
export const userPrincipal = (userId: string): string => `user:${userId}`;
export const routePrincipal = (request: FastifyRequest): string => `route:${request.method} ${concretePath(request)}`;
