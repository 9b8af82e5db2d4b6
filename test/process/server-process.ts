// Helpers for process-level tests: spawn the real server (or the seed CLI) as a child process,
// talk to it over HTTP, and clean up every child and temp dir afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** The repository root (/work/main), derived from this file's location. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const STARTUP_TIMEOUT_MS = 15_000;
const POLL_MS = 50;

const live = new Set<ChildProcess>();
// Last-resort safety net: if the test process exits with children still running, take them down.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A temp dir removed when the test ends. */
export function tempDir(t: TestContext, prefix = 'stockhold-proc-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port that was free a moment ago: listen on 0, read it, close. */
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

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the child has exited and its output streams are drained. */
  exited: Promise<Exit>;
  hasExited(): boolean;
}

/**
 * Whoever owns a child: somewhere to register its cleanup. A TestContext is one; a suite that
 * shares processes across its tests can pass its own list and run it in an after() hook.
 */
export interface CleanupOwner {
  after(fn: () => Promise<void> | void): void;
}

/** Spawns `node --import tsx <script> [args]` in the repository root with the given environment. */
export function spawnNode(t: CleanupOwner, script: string, env: NodeJS.ProcessEnv, args: readonly string[] = []): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  let done = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    // 'close' (not 'exit') so stdout and stderr are complete.
    child.once('close', (code, signal) => {
      done = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  t.after(async () => {
    if (!done) {
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
    }
  });
  return { child, stdout: () => out, stderr: () => err, exited, hasExited: () => done };
}

/** Runs a script to completion and returns its exit status and output. */
export async function runNode(t: CleanupOwner, script: string, env: NodeJS.ProcessEnv, args: readonly string[] = []) {
  const run = spawnNode(t, script, env, args);
  const exit = await run.exited;
  return { ...exit, stdout: run.stdout(), stderr: run.stderr() };
}

export interface ServerProcess extends Spawned {
  port: number;
  baseUrl: string;
  /** Sends a signal and waits for the exit; the result carries how long the exit took. */
  stop(signal: NodeJS.Signals): Promise<Exit & { ms: number }>;
}

/** The environment a server child gets: the test's own, plus a fresh port, the database and the overrides. */
export function serverEnv(port: number, databaseUrl: string, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
    NODE_ENV: 'development',
    // Every test request comes from 127.0.0.1: one client as far as rate limiting and the
    // per-address connection cap go.
    RATE_LIMIT_MAX: '0',
    MAX_CONNECTIONS_PER_CLIENT: '1000000',
    ...overrides,
  };
}

/** Starts src/server.ts and resolves once GET /healthz answers 200; the child is killed when the test ends. */
export async function startServer(
  t: CleanupOwner,
  options: { databaseUrl: string; env?: Record<string, string> },
): Promise<ServerProcess> {
  const port = await freePort();
  const spawned = spawnNode(t, 'src/server.ts', serverEnv(port, options.databaseUrl, options.env));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (spawned.hasExited()) {
      const { code, signal } = await spawned.exited;
      throw new Error(`server exited before it was healthy (code ${code}, signal ${signal})\n${spawned.stderr()}\n${spawned.stdout()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`server not healthy within ${STARTUP_TIMEOUT_MS} ms\n${spawned.stderr()}\n${spawned.stdout()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const stop = async (signal: NodeJS.Signals) => {
    const started = performance.now();
    if (!spawned.hasExited()) spawned.child.kill(signal);
    const exit = await spawned.exited;
    return { ...exit, ms: performance.now() - started };
  };
  return { ...spawned, port, baseUrl, stop };
}

export interface HttpResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  headers: Headers;
}

/** One HTTP call, with optional extra headers; the raw body is kept for byte-for-byte comparisons. */
export async function http(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const raw = await res.text();
  let parsed: unknown;
  try {
    parsed = raw === '' ? undefined : JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, raw, headers: res.headers };
}

/** Like http(), but fails loudly unless the status is the expected one. */
export async function expectStatus(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  status: number,
  body?: unknown,
): Promise<HttpResult> {
  const res = await http(baseUrl, method, path, body);
  if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${res.raw}`);
  return res;
}

/** stderr lines that matter: node's own warnings and their hints are not the service talking. */
export function meaningfulLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('(node:') && !line.startsWith('(Use `node --trace-'));
}

/** Pino writes JSON lines to stdout; returns those that parse. */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

export interface Movement {
  id: number;
  reason: string;
  deltaOnHand: number;
  deltaReserved: number;
  deltaSold: number;
}

/** Walks every page of GET /inventory/:sku/movements. */
export async function allMovements(baseUrl: string, sku: string, limit = 2): Promise<Movement[]> {
  const rows: Movement[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await expectStatus(baseUrl, 'GET', `/inventory/${sku}/movements?${query}`, 200);
    rows.push(...(res.body.data as Movement[]));
    cursor = res.body.meta?.nextCursor as string | undefined;
    if (!cursor) return rows;
  }
  throw new Error('movements pagination did not end');
}

export function ledgerSums(rows: readonly Movement[]) {
  return rows.reduce(
    (sum, m) => ({
      onHand: sum.onHand + m.deltaOnHand,
      reserved: sum.reserved + m.deltaReserved,
      sold: sum.sold + m.deltaSold,
    }),
    { onHand: 0, reserved: 0, sold: 0 },
  );
}

/** Pids of the live children of `pid` (empty once it has none). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
