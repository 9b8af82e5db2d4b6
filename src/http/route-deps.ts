import type { Clock } from '../domain/clock.js';
import type { CheckoutService } from '../services/checkout.service.js';
import type { InventoryService } from '../services/inventory.service.js';
import type { ReservationService } from '../services/reservation.service.js';
import type { Store } from '../storage/store.js';
import type { IdempotentResponder } from './idempotency.js';

export interface RouteDeps {
  store: Store;
  clock: Clock;
  inventory: InventoryService;
  reservations: ReservationService;
  checkout: CheckoutService;
  respond: IdempotentResponder;
}

/** Idempotency keys are per shopper; calls without a shopper (admin, payment callbacks) are scoped by route. */
export const userPrincipal = (userId: string): string => `user:${userId}`;
export const routePrincipal = (route: string): string => `route:${route}`;
