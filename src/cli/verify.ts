import 'dotenv/config';
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { DomainEvents } from '../domain/events.js';
import { formatDrift, ReconciliationService, type ReconciliationReport } from '../services/reconciliation.service.js';
import { openStore } from '../storage/open-store.js';
import type { Store } from '../storage/store.js';

const USAGE = 'usage: npm run verify [-- --json]';

/** Exit statuses: 0 clean, 1 drift, 2 could not check (bad usage, bad configuration, store unreachable). */
const CLEAN = 0;
const DRIFT = 1;
const CANNOT_CHECK = 2;

class UsageError extends Error {}

/**
 * `npm run verify`: recomputes every product's counters from its ledger, its live reservations
 * and its orders, and reports each counter that drifted. Writes nothing.
 */
async function main(argv: readonly string[]): Promise<number> {
  let json = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\nexits 0 when every counter agrees, 1 on drift, 2 when the store cannot be checked\n`);
      return CLEAN;
    } else throw new UsageError(`unknown argument "${arg}" (${USAGE})`);
  }
  const config = loadConfig(process.env);
  const store = await open(config);
  let report: ReconciliationReport;
  try {
    report = await new ReconciliationService({ store, clock: systemClock, events: new DomainEvents() }).check();
  } finally {
    await store.close().catch(() => undefined);
  }
  const database = config.databaseUrlForLogs;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: report.drifts.length === 0, database, ...report })}\n`);
  } else {
    const lines = report.drifts.map((d) => `drift: ${formatDrift(d)}`);
    const outcome =
      report.drifts.length === 0
        ? ': every counter agrees with the ledger, reservations and orders'
        : ` (${report.drifts.length} counter${report.drifts.length === 1 ? '' : 's'})`;
    lines.push(`verify: ${report.skusChecked} skus checked on ${database}, ${report.driftedSkus} drifted${outcome}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.drifts.length === 0 ? CLEAN : DRIFT;
}

/** Opens the store, refusing to create a SQLite file that is not there: there would be nothing to verify. */
async function open(config: Readonly<Config>): Promise<Store> {
  const { database } = config;
  if (database.kind === 'sqlite') {
    if (database.filename === ':memory:') throw new UsageError('DATABASE_URL names an in-memory database: nothing to verify');
    if (!existsSync(database.filename)) throw new UsageError(`no database at ${database.filename} (DATABASE_URL)`);
  }
  try {
    return await openStore(config);
  } catch (err) {
    throw new Error(`cannot open ${config.databaseUrlForLogs}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function oneLine(err: unknown): string {
  if (err instanceof ConfigError) return `invalid configuration: ${err.message}`;
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ');
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    console.error(`stockhold verify: ${oneLine(err)}`);
    process.exitCode = CANNOT_CHECK;
  },
);
