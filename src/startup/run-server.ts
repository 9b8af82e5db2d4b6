import type { Cluster } from 'node:cluster';
import type { Logger as PinoLogger } from 'pino';
import { buildApp, type Stockhold } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { systemClock } from '../domain/clock.js';
import { DomainEvents } from '../domain/events.js';
import { drainHttp } from '../http/ops/drain.js';
import { Readiness } from '../http/ops/readiness.js';
import type { Scrape } from '../http/routes/metrics.routes.js';
import { perProcessLimitWarning } from '../http/rate-limit.js';
import { openStore } from '../storage/open-store.js';
import { aggregateWorkerMetrics, workerScrape } from './cluster-metrics.js';
import { createLogger } from './logger.js';
import { prepareStore } from './prepare-store.js';

const WORKER_RESTART_DELAY_MS = 1_000;

/**
 * Runs the service in this process until SIGTERM or SIGINT, then drains and exits 0 (1 when the
 * drain overruns SHUTDOWN_TIMEOUT). With WORKERS > 1, this process is the primary of a cluster.
 */
export async function runServer(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger(config);
  if (config.workers === 1) {
    await serve(config, logger, { isWorker: false });
    return;
  }
  // Loaded only in cluster mode: with node:cluster loaded, a lone server's close() was seen to
  // wait for idle keep-alive sockets instead of closing them.
  const { default: cluster } = await import('node:cluster');
  if (cluster.isPrimary) await runPrimary(config, logger, cluster);
  else await serve(config, logger, { isWorker: true });
}

/** One line on stderr and exit 1, naming the variable when the configuration is at fault. */
export function reportStartFailure(err: unknown): never {
  if (err instanceof ConfigError) console.error(`stockhold: invalid configuration: ${err.message}`);
  else console.error(`stockhold: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

/** One serving process: the whole app, listening; with WORKERS > 1, one of several sharing the port. */
async function serve(config: Readonly<Config>, logger: PinoLogger, { isWorker }: { isWorker: boolean }): Promise<void> {
  const readiness = new Readiness();
  const store = await openStore(config);
  // The primary has already prepared the store for its workers.
  if (!isWorker) {
    await prepareStore({ config, store, clock: systemClock, events: new DomainEvents(), logger }).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
  }
  // A worker's scrape is the group's: the primary collects each worker's registry (see cluster-metrics.ts).
  const built: { metrics?: Stockhold['metrics'] } = {};
  const scrape: Scrape | undefined = isWorker ? workerScrape(() => (built.metrics as NonNullable<Stockhold['metrics']>).merged()) : undefined;
  const stockhold = await buildApp({ config, store, logger, readiness, ...(scrape ? { scrape } : {}) });
  built.metrics = stockhold.metrics;
  const { app, sweeper, backups } = stockhold;
  onSignal(config, logger, () => drainHttp(app, readiness));
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    throw listenError(err, config.port, config.host);
  }
  readiness.ready();
  // Every instance sweeps: due reservations are claimed with SKIP LOCKED, so each expires once.
  sweeper.start();
  backups?.start();
  if (!isWorker) logServing(logger, config, app.server.address());
}

function logServing(logger: PinoLogger, config: Readonly<Config>, address: unknown): void {
  const port = typeof address === 'object' && address !== null && 'port' in address ? (address as { port: number }).port : config.port;
  logger.info(
    {
      host: config.host,
      port,
      database: config.databaseUrlForLogs,
      ttlMs: config.reservationTtlMs,
      cleanupIntervalMs: config.cleanupIntervalMs,
      workers: config.workers,
    },
    'stockhold is serving',
  );
  // Here, not in buildApp, so WORKERS=N logs it once rather than once per worker.
  const warning = perProcessLimitWarning(config);
  if (warning !== undefined) logger.warn(warning);
}

/**
 * WORKERS=N on PostgreSQL: the primary prepares the store once (no HTTP app), then forks N
 * workers that share the port (node:cluster). It restarts a worker that dies, answers scrapes
 * with the whole group's metrics, and on a signal drains every worker.
 */
async function runPrimary(config: Readonly<Config>, logger: PinoLogger, cluster: Cluster): Promise<void> {
  const store = await openStore(config);
  try {
    await prepareStore({ config, store, clock: systemClock, events: new DomainEvents(), logger });
  } finally {
    await store.close();
  }
  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A pause, so a worker that cannot start (database down) is not respawned in a tight loop.
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a new one in 1 s');
    setTimeout(() => stopping || fork(), WORKER_RESTART_DELAY_MS);
  });
  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    if (++listening === config.workers) logServing(logger, config, address);
  });
  aggregateWorkerMetrics(cluster);
  for (let i = 0; i < config.workers; i++) fork();

  onSignal(config, logger, async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    const codes = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<number | null>((resolve) => {
            worker.once('exit', (code) => resolve(code));
            worker.process.kill('SIGTERM');
          }),
      ),
    );
    if (codes.some((code) => code !== 0)) throw new Error(`workers exited with ${codes.join(', ')}`);
  });
}

/** Names the variable to fix when the socket cannot be opened. */
function listenError(err: unknown, port: number, host: string): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'EADDRINUSE') return new ConfigError('PORT', `port ${port} is already in use on ${host}`);
  if (code === 'EACCES') return new ConfigError('PORT', `no permission to listen on port ${port}`);
  if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN') {
    return new ConfigError('HOST', `cannot listen on "${host}" (${code})`);
  }
  return err;
}

/** On the first SIGTERM or SIGINT: drain, then exit 0; 1 when the drain fails or overruns SHUTDOWN_TIMEOUT. */
function onSignal(config: Readonly<Config>, logger: PinoLogger, drain: () => Promise<void>): void {
  const deadlineMs = config.ops.shutdownTimeoutMs;
  let draining = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (draining) return;
    draining = true;
    logger.info({ signal, deadlineMs }, 'shutting down: finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown overran SHUTDOWN_TIMEOUT; exiting anyway');
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    drain().then(
      () => {
        logger.info({ signal }, 'shut down cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  // A second signal while draining is ignored; the deadline above bounds the wait.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
