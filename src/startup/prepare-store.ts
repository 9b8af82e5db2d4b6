import type { Config } from '../config.js';
import type { Clock } from '../domain/clock.js';
import type { DomainEvents } from '../domain/events.js';
import { uuidGenerator } from '../domain/ids.js';
import { ExpirySweeper } from '../jobs/expiry-sweeper.js';
import { IdempotencyService } from '../services/idempotency.service.js';
import { InventoryService } from '../services/inventory.service.js';
import type { Logger } from '../services/logger.js';
import { ReconciliationService } from '../services/reconciliation.service.js';
import { ReservationService } from '../services/reservation.service.js';
import type { Store } from '../storage/store.js';
import { runStartupCheck } from './startup-check.js';

export interface PrepareOptions {
  config: Readonly<Config>;
  /** Already open, so its migrations have run. */
  store: Store;
  clock: Clock;
  events: DomainEvents;
  logger: Logger;
  /** Seed the demo catalog into an empty store. Defaults to NODE_ENV !== 'production'. */
  seedDemoCatalog?: boolean;
}

/**
 * Readies an open store for serving, once per deployment start (the cluster primary runs it
 * for its workers): frees Idempotency-Keys a killed process left pending, expires what fell due
 * while stopped, checks the counters (STARTUP_CHECK) and seeds an empty development catalog.
 * Needs no HTTP app: it works on the services alone.
 */
export async function prepareStore(options: PrepareOptions): Promise<void> {
  const { config, store, clock, events, logger } = options;
  const idempotency = new IdempotencyService({ store, clock });
  // The only process on its database: nothing of another one is in flight now.
  if (store.capabilities.soleWriter) {
    const released = await idempotency.releaseAbandoned();
    if (released > 0) logger.info({ released }, 'freed Idempotency-Keys left pending by the previous process');
  }
  const reservations = new ReservationService({ store, clock, ids: uuidGenerator, events, reservationTtlMs: config.reservationTtlMs });
  const sweeper = new ExpirySweeper({ reservations, idempotency, intervalMs: config.cleanupIntervalMs, logger });
  const swept = await sweeper.runOnce();
  if (swept.expired > 0) logger.info({ expired: swept.expired }, 'expired reservations that fell due while stopped');
  await runStartupCheck(new ReconciliationService({ store, clock, events }), config.startupCheck, logger);
  if (options.seedDemoCatalog ?? config.nodeEnv !== 'production') {
    const inventory = new InventoryService({ store, clock, events });
    if ((await inventory.count()) === 0) {
      const seeded = await inventory.seedDemoCatalog();
      logger.info({ inserted: seeded.inserted }, `catalog was empty: seeded the demo catalog (${seeded.inserted} products)`);
    }
  }
}
