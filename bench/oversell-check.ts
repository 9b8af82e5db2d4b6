// Zero-oversell check after a scenario: the product's own reconciler (the same one `npm run verify`
// runs) recomputes every counter from the ledger, live reservations and orders.
import { loadConfig } from '../src/config.js';
import { systemClock } from '../src/domain/clock.js';
import { DomainEvents } from '../src/domain/events.js';
import { describeDrifts, ReconciliationService, type ProductDrift } from '../src/services/reconciliation.service.js';
import { openStore } from '../src/storage/open-store.js';
import type { BenchDatabase } from './databases.js';

export interface OversellCheck {
  ok: boolean;
  products: number;
  drift: ProductDrift[];
}

export async function checkOversell(db: BenchDatabase): Promise<OversellCheck> {
  const store = await openStore(loadConfig({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: '1' }));
  try {
    const report = await new ReconciliationService({ store, clock: systemClock, events: new DomainEvents() }).check();
    return { ok: report.drifts.length === 0, products: report.skusChecked, drift: report.drifts };
  } finally {
    await store.close();
  }
}

export function describeCheck(check: OversellCheck): string {
  return check.ok ? 'OK' : `DRIFT: ${describeDrifts(check.drift, 10)}`;
}
