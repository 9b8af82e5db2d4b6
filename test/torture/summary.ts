import { tallies, type TortureResult } from './torture.js';

const MAX_LISTED_VIOLATIONS = 40;

/** The one-screen summary: what ran, what happened to the requests, what was checked, and the verdict. */
export function formatSummary(result: TortureResult): string {
  const { options, report } = result;
  const t = tallies(result.operations);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const restart = result.fleet.restartMs;
  const answers = Object.entries(t.answers)
    .sort((a, b) => b[1] - a[1])
    .map(([label, n]) => `${label}: ${n}`)
    .join(', ');
  const lines = [
    `torture: ${options.store}, ${options.instances} instance(s), seed ${options.seed}, ${options.users} shoppers, TTL ${options.ttlMs} ms (replay: --seed ${options.seed})`,
    `  ran ${seconds(result.elapsedMs)}; kill -9: ${result.kills.length} during the load + ${result.fleet.kills - result.kills.length} at the end; restarts: ${result.fleet.restarts}` +
      (restart.length > 0 ? ` (mean ${seconds(restart.reduce((a, b) => a + b, 0) / restart.length)}, max ${seconds(Math.max(...restart))})` : ''),
    `  operations: ${result.operations.length} (ok ${t.operationsByOutcome.ok}, fail ${t.operationsByOutcome.fail}, info/unknown ${t.operationsByOutcome.info}); retried: ${t.retried}`,
    `  requests:   ${t.attempts} (acknowledged ${t.attemptsByOutcome.ok}, failed ${t.attemptsByOutcome.fail}, unknown ${t.attemptsByOutcome.info})`,
    `  answers:    ${answers}`,
    `  checked:    ${report.acknowledgedReservations} acknowledged reservations, ${report.acknowledgedOrders} acknowledged orders, ${report.keysChecked} idempotency keys; ` +
      `store holds ${result.stored.reservations} reservations, ${result.stored.orders} orders, ${result.stored.movements} ledger rows`,
    `  stock:      ${[...result.products].map(([sku, units]) => `${sku}=${units}`).join(' ')}`,
  ];
  if (report.violations.length === 0) {
    lines.push('PASS: every check holds (acknowledged writes, received = on_hand + sold, reserved = live holds, ledger replay, one effect per key)');
  } else {
    lines.push(`FAIL: ${report.violations.length} violation(s)`);
    for (const v of report.violations.slice(0, MAX_LISTED_VIOLATIONS)) lines.push(`  [${v.rule}] ${v.message}`);
    if (report.violations.length > MAX_LISTED_VIOLATIONS) lines.push(`  ... and ${report.violations.length - MAX_LISTED_VIOLATIONS} more`);
  }
  return lines.join('\n');
}
