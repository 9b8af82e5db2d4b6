import type { Config } from '../config.js';
import type { Logger } from '../services/logger.js';
import {
  describeDrifts,
  RepairRefusedError,
  type ReconciliationService,
  type RepairResult,
} from '../services/reconciliation.service.js';

/** The start-up self-check found drift and was told not to repair it (or could not). */
export class StartupCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupCheckError';
  }
}

/** How many drifts go into the start-up log line; `stockhold verify` lists them all. */
const LOGGED_DRIFTS = 100;
const AGREES = 'start-up check: every counter agrees with the ledger, reservations and orders';

/**
 * The start-up self-check (`STARTUP_CHECK`): `refuse` throws on drift, `repair` repairs it
 * (and throws if it cannot), `off` only warns that nothing was checked. The messages name the
 * variable to change, which is why this lives with start-up rather than in the service.
 */
export async function runStartupCheck(
  reconciler: ReconciliationService,
  mode: Config['startupCheck'],
  log: Logger,
): Promise<void> {
  if (mode === 'off') {
    log.warn({}, 'start-up check is off (STARTUP_CHECK=off): counters were not reconciled with the ledger, reservations and orders');
    return;
  }
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  if (mode === 'refuse') {
    const report = await reconciler.check();
    if (report.drifts.length > 0) {
      log.error({ driftedSkus: report.driftedSkus, drifts: report.drifts.slice(0, LOGGED_DRIFTS) }, 'start-up check found drift');
      throw new StartupCheckError(
        `start-up check found drift in ${report.driftedSkus} of ${report.skusChecked} skus: ${describeDrifts(report.drifts)}. ` +
          'Run npm run verify for the full list, or start with STARTUP_CHECK=repair to repair it',
      );
    }
    log.info({ skusChecked: report.skusChecked, ms: ms() }, AGREES);
    return;
  }
  let result: RepairResult;
  try {
    result = await reconciler.repair();
  } catch (err) {
    if (err instanceof RepairRefusedError) throw new StartupCheckError(`start-up repair refused: ${err.message}`);
    throw err;
  }
  const { before, corrections } = result;
  if (corrections.length > 0) {
    log.warn(
      { driftedSkus: before.driftedSkus, drifts: before.drifts.slice(0, LOGGED_DRIFTS), corrections: corrections.slice(0, LOGGED_DRIFTS) },
      `start-up check repaired drift in ${before.driftedSkus} of ${before.skusChecked} skus`,
    );
  }
  log.info({ skusChecked: before.skusChecked, repaired: corrections.length, ms: ms() }, AGREES);
}
