import 'dotenv/config';
import type { Cluster } from 'node:cluster';
import { buildApp, type Stockhold } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { perProcessLimitWarning } from './http/rate-limit.js';

const SHUTDOWN_DEADLINE_MS = 10_000;
const WORKER_RESTART_DELAY_MS = 1_000;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.workers === 1) {
    await serve(config, { isWorker: false });
    return;
  }
  // Loaded only in cluster mode: with node:cluster loaded, a lone server's close() was seen to
  // wait for idle keep-alive sockets instead of closing them.
  const { default: cluster } = await import('node:cluster');
  if (cluster.isPrimary) await runPrimary(config, cluster);
  else await serve(config, { isWorker: true });
}

/** One serving process: the whole app, listening; with WORKERS > 1, one of several sharing the port. */
async function serve(config: Readonly<Config>, { isWorker }: { isWorker: boolean }): Promise<void> {
  // Workers leave seeding to the primary, which has already prepared the store.
  const stockhold = await buildApp({ config, ...(isWorker ? { seedDemoCatalog: false } : {}) });
  const { app, sweeper } = stockhold;
  installShutdown(() => app.close(), (msg, extra) => app.log.info(extra ?? {}, msg), (msg, err) => app.log.error({ err }, msg));
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    throw listenError(err, config.port, config.host);
  }
  // Every instance sweeps: due reservations are claimed with SKIP LOCKED, so each expires once.
  sweeper.start();
  if (!isWorker) logServing(stockhold, config);
}

function logServing({ app }: Stockhold, config: Readonly<Config>): void {
  app.log.info(
    {
      database: config.databaseUrlForLogs,
      ttlMs: config.reservationTtlMs,
      cleanupIntervalMs: config.cleanupIntervalMs,
      workers: config.workers,
    },
    'stockhold is serving',
  );
  // Here, not in buildApp, so WORKERS=N logs it once rather than once per worker.
  const warning = perProcessLimitWarning(config);
  if (warning !== undefined) app.log.warn(warning);
}

/**
 * WORKERS=N on PostgreSQL: the primary migrates, sweeps and seeds once, then forks N workers
 * that share the port (node:cluster). It restarts a worker that dies and drains all on a signal.
 */
async function runPrimary(config: Readonly<Config>, cluster: Cluster): Promise<void> {
  const stockhold = await buildApp({ config });
  const log = stockhold.app.log;
  await stockhold.app.close();

  let stopping = false;
  const fork = () => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A pause, so a worker that cannot start (database down) is not respawned in a tight loop.
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a new one in 1 s');
    setTimeout(() => stopping || fork(), WORKER_RESTART_DELAY_MS);
  });
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === config.workers) logServing(stockhold, config);
  });
  for (let i = 0; i < config.workers; i++) fork();

  installShutdown(
    async () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              worker.once('exit', () => resolve());
              worker.process.kill('SIGTERM');
            }),
        ),
      );
    },
    (msg, extra) => log.info(extra ?? {}, msg),
    (msg, err) => log.error({ err }, msg),
  );
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

function installShutdown(
  close: () => Promise<void>,
  info: (msg: string, extra?: object) => void,
  error: (msg: string, err?: unknown) => void,
): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    info('shutting down: finishing in-flight requests', { signal });
    const deadline = setTimeout(() => {
      error('shutdown took longer than 10 s; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    // Fastify stops accepting, waits for in-flight requests, then runs onClose: sweeper, then store.
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        error('error during shutdown', err);
        process.exit(1);
      },
    );
  };
  // A second signal while draining is ignored; the deadline above bounds the wait.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`stockhold: invalid configuration: ${err.message}`);
  } else {
    console.error(`stockhold: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(1);
});
