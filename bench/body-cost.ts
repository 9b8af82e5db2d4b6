// The worst body each POST route accepts, its size and what it costs to take in:
// `npx tsx bench/body-cost.ts`. "read" is the nesting pre-scan, JSON parse, duplicate-key scan and
// schema validation; "request" is the CPU of the whole request through the app (in memory, SQLite).
import { startTestApp } from '../test/helpers/test-app.js';
import { readingCostMs, WORST_BODIES } from '../test/helpers/worst-bodies.js';

const RUNS = 200;
const t = await startTestApp();
const rows = ['| route | limit | worst accepted body | read, CPU (ms) | whole request, CPU (ms) |', '|---|---|---|---|---|'];
for (const worst of WORST_BODIES) {
  const send = () => t.app.inject({ method: 'POST', url: worst.url, payload: worst.body, headers: { 'content-type': 'application/json' } });
  await send();
  const before = process.cpuUsage();
  for (let i = 0; i < RUNS; i++) await send();
  const used = process.cpuUsage(before);
  const requestMs = (used.user + used.system) / 1000 / RUNS;
  const bytes = Buffer.byteLength(worst.body);
  rows.push(`| ${worst.route} | ${worst.limit} B | ${bytes} B | ${readingCostMs(worst, RUNS).toFixed(3)} | ${requestMs.toFixed(3)} |`);
}
await t.close();
process.stdout.write(`${rows.join('\n')}\n`);
