// Servers under test run in their own processes: spawn, wait for /healthz, read peak RSS, stop.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root, derived from this file's location. */
export const ROOT = fileURLToPath(new URL('../', import.meta.url));

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_TAIL_CHARS = 4_000;

const live = new Set<ChildProcess>();

/** Kills every child still running; for the bench's own exit paths. */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

export interface PeakRss {
  pid: number;
  /** 'helper' is a non-node child, such as the esbuild service tsx starts when it must transform a changed file. */
  role: 'primary' | 'worker' | 'single' | 'helper';
  command: string;
  peakRssMb: number;
}

export interface ServerProcess {
  name: string;
  pid: number;
  baseUrl: string;
  /** Peak resident set (VmHWM) of the process and of each child it forked, in MB. */
  peakRss(): PeakRss[];
  /** Whether it still runs, and the tail of its output: for error messages. */
  state(): string;
  stop(): Promise<void>;
}

/** VmHWM of a live process in MB, or null once it has gone. */
export function vmHwmMb(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return []; // ps exits 1 when there are no children
  }
}

/**
 * Spawns `node --import tsx <script>` in the repository root and resolves once GET /healthz
 * answers 200. `env` is added to the bench's own environment; PORT and HOST are set here.
 */
export async function startServer(name: string, script: string, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      keep(`\nspawn error: ${err.message}`);
      exitCode = -1;
      resolve();
    });
    child.once('close', (code) => {
      exitCode = code;
      live.delete(child);
      resolve();
    });
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${name}: exited (code ${exitCode}) before /healthz answered 200:\n${output}`);
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name}: /healthz did not answer 200 within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pid = child.pid ?? -1;
  return {
    name,
    pid,
    baseUrl,
    peakRss() {
      const children = childPids(pid).map((p) => ({ pid: p, command: commandOf(p), mb: vmHwmMb(p) }));
      const workers = children.filter((c) => c.command === 'node');
      const own = vmHwmMb(pid);
      const rows: PeakRss[] = own === null ? [] : [{ pid, role: workers.length > 0 ? 'primary' : 'single', command: commandOf(pid), peakRssMb: own }];
      for (const child of children) {
        if (child.mb !== null) rows.push({ pid: child.pid, role: child.command === 'node' ? 'worker' : 'helper', command: child.command, peakRssMb: child.mb });
      }
      return rows;
    },
    state() {
      return `${name} ${exitCode === undefined ? 'is running' : `exited with code ${exitCode}`}; its output ends:\n${output.trim() || '(nothing)'}`;
    },
    async stop() {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
