import 'dotenv/config';
import { ConfigError, loadConfig } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { DomainEvents } from '../domain/events.js';
import { InventoryService } from '../services/inventory.service.js';
import { openStore } from '../storage/open-store.js';

/** `npm run seed`: upserts the demo catalog. A second run reports nothing inserted or updated. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const store = await openStore(config);
  try {
    const inventory = new InventoryService({ store, clock: systemClock, events: new DomainEvents() });
    const { inserted, updated } = await inventory.seedDemoCatalog();
    process.stdout.write(`seeded the demo catalog into ${config.databaseUrlForLogs}: ${inserted} inserted, ${updated} updated\n`);
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(`stockhold seed: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : String(err)}`);
  process.exit(1);
});
