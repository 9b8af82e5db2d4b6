// Printing: the results table, the targets, the machine; and the results JSON file.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchResults, MachineInfo, ScenarioRow, TargetResult } from './results.js';
import type { Measurement } from './scenarios.js';
import { ROOT } from './server-process.js';

export const say = (line = ''): void => void process.stdout.write(`${line}\n`);

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    node: process.version,
    totalMemoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
  };
}

/** The commit measured, and whether src/ had uncommitted changes. */
export function sourceInfo(): { commit: string; srcDirty: boolean } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', '--short', 'HEAD'), srcDirty: git('status', '--porcelain', '--', 'src') !== '' };
  } catch {
    return { commit: 'unknown', srcDirty: false };
  }
}

export const describeMachine = (m: MachineInfo): string =>
  `${m.nproc} cores (nproc), ${m.cpuModel}, ${Math.round(m.totalMemoryMb / 1024)} GB RAM, Node ${m.node}, ${m.platform}, load average at start ${m.loadAverageAtStart.join(' ')}`;

/** Status counts, e.g. "201:31245" or "400:12000 404:3!" where ! marks a status the scenario does not expect. */
export function statuses(m: Measurement): string {
  return Object.entries(m.statusCodes)
    .map(([code, count]) => `${code}:${count}${code in m.unexpected ? '!' : ''}`)
    .join(' ');
}

const HEADER = ['config', 'scenario', 'req/s', 'p50 ms', 'p99 ms', 'max ms', '× ceiling', 'statuses', 'err/t-o', 'RSS MB', 'oversell'];

function cells(row: ScenarioRow): string[] {
  const m = row.measurement;
  return [
    row.config,
    row.scenario,
    m.rps.toFixed(0),
    m.p50Ms.toFixed(1),
    m.p99Ms.toFixed(1),
    m.maxMs.toFixed(1),
    row.ratio === null ? 'n/a' : row.ratio.toFixed(2),
    statuses(m),
    `${m.errors}/${m.timeouts}`,
    row.peakRssMb === null ? '' : row.peakRssMb.toFixed(0),
    row.oversell === null ? '' : row.oversellOk ? 'OK' : 'DRIFT',
  ];
}

/** A Markdown table, readable as is in a terminal. */
export function table(rows: readonly ScenarioRow[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 2 && i <= 6 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(HEADER), rule, ...body.map(line)].join('\n');
}

export function targetLines(targets: readonly TargetResult[]): string[] {
  return targets.map((t) => {
    const value = t.value === null ? 'n/a' : t.value.toFixed(2);
    return `${t.status.padEnd(12)} ${t.name}: ${value} (target ${t.requirement}; ${t.detail})`;
  });
}

export function rowLine(row: ScenarioRow): string {
  const m = row.measurement;
  return (
    `  ${row.scenario.padEnd(10)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50Ms.toFixed(1)} ms  p99 ${m.p99Ms.toFixed(1)} ms  ` +
    `max ${m.maxMs.toFixed(1)} ms  ${row.ratio === null ? '' : `× ceiling ${row.ratio.toFixed(2)}  `}${statuses(m)}` +
    `${m.errors > 0 ? `  errors ${m.errors} (timeouts ${m.timeouts})` : ''}${row.oversell === null ? '' : `  oversell ${row.oversell}`}`
  );
}

/** bench/results/<YYYY-MM-DD>T<HHMM>.json (local time), never overwriting an earlier run. */
export function writeResults(results: BenchResults, started: Date): string {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${started.getFullYear()}-${pad(started.getMonth() + 1)}-${pad(started.getDate())}T${pad(started.getHours())}${pad(started.getMinutes())}`;
  let file = join(dir, `${stamp}.json`);
  for (let i = 2; existsSync(file); i++) file = join(dir, `${stamp}-${i}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}
