import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort, serverEnv, spawnNode, type CleanupOwner, type Spawned } from '../process/server-process.js';

/** Generous: tsx compiles the server on every start, and a loaded 2-core machine is slow at it. */
const STARTUP_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

export interface FleetOptions {
  databaseUrl: string;
  instances: number;
  /** Extra environment for every server process. */
  env: Record<string, string>;
}

interface Instance {
  port: number;
  process?: Spawned;
}

export class StartupError extends Error {}

/**
 * The server processes under test, each on a port of its own that it keeps across restarts, so
 * clients need no new address after a crash.
 */
export class Fleet {
  private readonly instances: Instance[] = [];
  kills = 0;
  restarts = 0;
  readonly restartMs: number[] = [];

  private constructor(
    private readonly owner: CleanupOwner,
    private readonly options: FleetOptions,
  ) {}

  static async start(owner: CleanupOwner, options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(owner, options);
    for (let i = 0; i < options.instances; i++) fleet.instances.push({ port: await freePort() });
    // Together, as a deployment would: migrations run under an advisory lock on PostgreSQL.
    await Promise.all(fleet.instances.map((_, i) => fleet.launch(i)));
    return fleet;
  }

  get size(): number {
    return this.instances.length;
  }

  urls(): readonly string[] {
    return this.instances.map((instance) => `http://127.0.0.1:${instance.port}`);
  }

  isUp(index: number): boolean {
    const proc = this.instances[index]?.process;
    return proc !== undefined && !proc.hasExited();
  }

  /** kill -9: no drain, no close, no flush beyond what each commit already did. */
  async kill(index: number): Promise<void> {
    const proc = this.instance(index).process;
    if (!proc || proc.hasExited()) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.kills++;
  }

  async restart(index: number): Promise<void> {
    const started = performance.now();
    try {
      await this.launch(index);
    } catch (err) {
      // Rare: another process took the port while it was down. Clients read urls() per attempt.
      if (!(err instanceof StartupError) || !err.message.includes('already in use')) throw err;
      this.instance(index).port = await freePort();
      await this.launch(index);
    }
    this.restarts++;
    this.restartMs.push(performance.now() - started);
  }

  /** A clean stop (SIGTERM: drain, close the store), so the database can be read afterwards. */
  async stop(index: number): Promise<void> {
    const proc = this.instance(index).process;
    if (!proc || proc.hasExited()) return;
    proc.child.kill('SIGTERM');
    await proc.exited;
  }

  /** What the server printed, for a report when something went wrong. */
  output(index: number): string {
    const proc = this.instance(index).process;
    return proc ? `${proc.stderr()}${proc.stdout()}`.trim() : '';
  }

  private instance(index: number): Instance {
    const instance = this.instances[index];
    if (!instance) throw new Error(`no instance ${index}`);
    return instance;
  }

  private async launch(index: number): Promise<void> {
    const instance = this.instance(index);
    const proc = spawnNode(this.owner, 'src/server.ts', serverEnv(instance.port, this.options.databaseUrl, this.options.env));
    instance.process = proc;
    const url = `http://127.0.0.1:${instance.port}/healthz`;
    const deadline = performance.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (proc.hasExited()) {
        const { code, signal } = await proc.exited;
        throw new StartupError(
          `instance ${index} exited while starting (code ${code}, signal ${signal}): ${`${proc.stderr()}\n${proc.stdout()}`.trim().slice(-2000)}`,
        );
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (performance.now() > deadline) {
        throw new StartupError(`instance ${index} not healthy within ${STARTUP_TIMEOUT_MS} ms: ${proc.stderr().slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A scratch PostgreSQL database for one run, created through `adminUrl` and dropped (WITH FORCE,
 * so instances still connected do not block it) when the owner cleans up.
 */
export async function scratchPostgresDatabase(owner: CleanupOwner, adminUrl: string): Promise<string> {
  const name = `stockhold_torture_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  owner.after(async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  return withDatabase(adminUrl, name);
}
