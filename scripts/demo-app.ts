// An app on a fresh in-memory store holding the demo catalog, as `npm start` prepares it: for the
// scripts that capture real answers (API.md's examples, the Postman scenarios) and their tests.
import { buildApp, type AppOptions, type Stockhold } from '../src/app.js';
import { systemClock } from '../src/domain/clock.js';
import { DomainEvents } from '../src/domain/events.js';
import { InventoryService } from '../src/services/inventory.service.js';
import { openStore } from '../src/storage/open-store.js';

export async function buildDemoApp(options: AppOptions): Promise<Stockhold> {
  const store = await openStore(options.config);
  await new InventoryService({ store, clock: options.clock ?? systemClock, events: new DomainEvents() }).seedDemoCatalog();
  return buildApp({ ...options, store });
}
