// `npm run bench`: runs the suite, prints the table and the targets, writes bench/results/<date>.json.
import { relative } from 'node:path';
import { parseOptions, USAGE } from './options.js';
import { describeMachine, machineInfo, say, sourceInfo, table, targetLines, writeResults } from './report.js';
import type { BenchResults } from './results.js';
import { killAllChildren, ROOT } from './server-process.js';
import { Bench } from './suite.js';
import { evaluateTargets } from './targets.js';

function commandLine(argv: readonly string[]): string {
  return argv.length === 0 ? 'npm run bench' : `npm run bench -- ${argv.join(' ')}`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    say(USAGE);
    return 0;
  }
  let options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const started = new Date();
  const machine = machineInfo();
  const source = sourceInfo();
  say(`stockhold bench: ${commandLine(argv)}`);
  say(`machine: ${describeMachine(machine)}`);
  say(`source: commit ${source.commit}${source.srcDirty ? ' with uncommitted changes in src/' : ''}`);
  say(`load: ${options.connections} connections, pipelining ${options.pipelining}, ${options.warmupS} s warm-up + ${options.durationS} s measured per scenario`);
  const bench = new Bench(options);
  const stopOnSignal = (signal: NodeJS.Signals) => {
    say(`\n${signal}: stopping servers`);
    killAllChildren();
    void (bench.pg?.dropAll() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  await bench.run();
  await bench.pg?.dropAll().catch(() => undefined);

  const targets = evaluateTargets(bench);
  const finished = new Date();
  const results: BenchResults = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    elapsedS: Math.round((finished.getTime() - started.getTime()) / 1000),
    command: commandLine(argv),
    machine,
    source,
    settings: { ...bench.settings, quick: options.quick },
    ceiling: bench.ceiling,
    rows: bench.rows,
    configs: bench.configs,
    halfRate: bench.halfRate,
    naiveBaseline: bench.naiveBaseline,
    growth: bench.growth,
    targets,
    notes: bench.notes,
    failures: bench.failures,
  };
  say('');
  say(table(bench.rows));
  say('');
  if (bench.halfRate) {
    const h = bench.halfRate;
    say(`half rate (${h.overallRate} req/s, autocannon overallRate): hot-sku p99 ${h.hotSku.p99Ms.toFixed(1)} ms, ceiling p99 ${h.ceiling.p99Ms.toFixed(1)} ms (uncorrected: ${h.hotSku.rawP99Ms.toFixed(1)} / ${h.ceiling.rawP99Ms.toFixed(1)} ms)`);
  }
  for (const g of bench.growth) {
    say(`growth (${g.config}): hot-sku ${g.empty.hotSkuRps.toFixed(0)} → ${g.filled.hotSkuRps.toFixed(0)} req/s; sweeper (${g.filled.dueReservations} due) ${g.empty.sweepMedianMs.toFixed(0)} → ${g.filled.sweepMedianMs.toFixed(0)} ms (median of ${g.filled.sweepTrialsMs.length})`);
  }
  say('');
  say('targets:');
  for (const line of targetLines(targets)) say(`  ${line}`);
  for (const note of bench.notes) say(`note: ${note}`);
  const file = writeResults(results, started);
  say('');
  say(`results: ${relative(ROOT, file)} (${results.elapsedS} s)`);
  if (bench.failures.length > 0) {
    say(`harness failures or oversell drift (${bench.failures.length}):`);
    for (const f of bench.failures) say(`  ${f}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAllChildren();
    process.exit(1);
  },
);
