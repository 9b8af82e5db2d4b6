import assert from 'node:assert/strict';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { DomainEvents } from './domain/events.js';
import { uuidGenerator, type IdGenerator } from './domain/ids.js';
import { registerAuth } from './http/auth/auth-hooks.js';
import { applyConnectionLimits } from './http/connection-limits.js';
import { makeTokenVerifier } from './http/auth/token-verifier.js';
import { registerCompression } from './http/compression.js';
import { failure } from './http/envelope.js';
import { DEFAULT_BODY_LIMIT, useStrictJsonParser } from './http/json-body.js';
import { toErrorResponse } from './http/error-mapping.js';
import { makeIdempotentResponder } from './http/idempotency.js';
import { Metrics } from './http/ops/metrics.js';
import { Readiness } from './http/ops/readiness.js';
import { registerRequestHooks } from './http/ops/request-hooks.js';
import { requestIdOf } from './http/ops/request-id.js';
import { swaggerOptions } from './http/openapi/openapi-document.js';
import { refuseUnknownQueryParameters } from './http/query-rules.js';
import { registerRateLimit } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import type { RouteDeps } from './http/route-deps.js';
import { checkoutRoutes } from './http/routes/checkout.routes.js';
import { docsRoutes } from './http/routes/docs.routes.js';
import { healthRoutes } from './http/routes/health.routes.js';
import { inventoryRoutes } from './http/routes/inventory.routes.js';
import { metricsRoutes, type Scrape } from './http/routes/metrics.routes.js';
import { reservationRoutes } from './http/routes/reservation.routes.js';
import { makeValidatorCompiler } from './http/validation.js';
import { BackupJob } from './jobs/backup-job.js';
import { ExpirySweeper } from './jobs/expiry-sweeper.js';
import { CheckoutService } from './services/checkout.service.js';
import { IdempotencyService } from './services/idempotency.service.js';
import { InventoryService } from './services/inventory.service.js';
import { ReservationService } from './services/reservation.service.js';
import { SoldOutCache } from './services/sold-out-cache.js';
import type { Logger } from './services/logger.js';
import { createLogger } from './startup/logger.js';
import { openStore } from './storage/open-store.js';
import type { Store } from './storage/store.js';

export const BODY_LIMIT_BYTES = DEFAULT_BODY_LIMIT;

/** Errors the HTTP parser raises before Fastify sees a request: answered on the socket, in the envelope. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'REQUEST_TIMEOUT', 'The request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'HEADERS_TOO_LARGE', 'Request headers are too large']
        : [400, 'BAD_REQUEST', 'Malformed HTTP request'];
  if (socket.writable) {
    const body = JSON.stringify(failure(status, code, message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export interface AppOptions {
  config: Readonly<Config>;
  /** Defaults to the store DATABASE_URL names. An injected store is closed with the app. */
  store?: Store;
  clock?: Clock;
  ids?: IdGenerator;
  /** The process's logger (src/startup/logger.ts); one is made from the configuration when absent. */
  logger?: FastifyBaseLogger;
  /** The process's readiness; when absent the app owns one and is ready once built. */
  readiness?: Readiness;
  /** Where GET /metrics reads from; defaults to this app's metrics (WORKERS > 1 passes the group's). */
  scrape?: Scrape;
  /** Prefix of the rate limiter's Redis keys; tests give each run its own. */
  rateLimitKeyPrefix?: string;
}

export interface Stockhold {
  app: FastifyInstance;
  store: Store;
  clock: Clock;
  events: DomainEvents;
  inventory: InventoryService;
  reservations: ReservationService;
  checkout: CheckoutService;
  sweeper: ExpirySweeper;
  /** Scheduled backups (BACKUP_DIR), started with the sweeper once the server listens; undefined when off. */
  backups: BackupJob | undefined;
  readiness: Readiness;
  /** Undefined with METRICS=off. */
  metrics: Metrics | undefined;
}

/**
 * The composition root: wires the store, services and routes into an HTTP app. Preparing the
 * store (start-up jobs, seeding) is src/startup/prepare-store.ts's job, done before this. Nothing
 * listens yet, and no background job runs until the caller starts the sweeper.
 */
export async function buildApp(options: AppOptions): Promise<Stockhold> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidGenerator;
  const store = options.store ?? (await openStore(config));
  const events = new DomainEvents();

  const readiness = options.readiness ?? new Readiness();
  const ownsReadiness = options.readiness === undefined;

  const app = Fastify({
    ...httpsOptions(config),
    loggerInstance: options.logger ?? createLogger(config),
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's two lines per request are replaced by one access line (src/http/ops/request-hooks.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // The caller's X-Request-Id when it is sane, else a fresh one; echoed and on every log line.
    genReqId: requestIdOf,
    // The drain (src/http/ops/drain.ts) decides when sockets close; Fastify must not cut idle ones early.
    forceCloseConnections: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Behind a load balancer, request.ip (and so per-IP limits) must be the client, not the balancer.
    trustProxy: typeof config.trustProxy === 'object' ? [...config.trustProxy] : config.trustProxy,
    // Requests that arrive while draining get our own enveloped 503 (src/http/ops/request-hooks.ts), not Fastify's bare one.
    return503OnClosing: false,
    // Slow or stalled clients must not hold connections: whole-request and header deadlines,
    // checked every second rather than Node's default 30 s.
    requestTimeout: config.requestTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
    // Ids in paths may be up to 128 characters; longer ones reach validation and get our 400.
    routerOptions: { maxParamLength: 512 },
    // Malformed URLs and raw protocol errors are answered in the envelope too.
    frameworkErrors: (error, _request, reply) => {
      void (reply as unknown as FastifyReply).code(400).send(failure(400, 'BAD_REQUEST', error.message || 'Malformed request'));
    },
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.maxConnections = config.maxConnections;
  applyConnectionLimits(app, config);
  app.setValidatorCompiler(makeValidatorCompiler());
  refuseUnknownQueryParameters(app);
  // Every route speaks JSON; a text/plain body is refused with 415 rather than parsed as a string.
  app.removeContentTypeParser('text/plain');
  useStrictJsonParser(app);

  // Authenticated callers get the same 404 for someone else's id as for an unknown one.
  const ownership = config.auth.mode === 'jwt' ? 'hide' : 'reveal';
  const inventory = new InventoryService({ store, clock, events });
  // The sold-out hint is only sound where this process sees every release, and it must hear of
  // every batch of transactions the store throws away.
  const { writeQueue } = store;
  const soldOut =
    config.reserveFastPaths && store.capabilities.soleWriter && writeQueue ? new SoldOutCache(events, () => writeQueue.discards()) : undefined;
  const reservations = new ReservationService({
    store,
    clock,
    ids,
    events,
    reservationTtlMs: config.reservationTtlMs,
    ownership,
    fastPaths: config.reserveFastPaths,
    ...(soldOut ? { soldOut } : {}),
  });
  const checkout = new CheckoutService({ store, clock, ids, events, ownership });
  const idempotency = new IdempotencyService({ store, clock });
  const sweeper = new ExpirySweeper({ reservations, idempotency, intervalMs: config.cleanupIntervalMs, logger: app.log });
  logBusinessEvents(events, app.log);
  const backups = scheduledBackups(config, store, clock, app.log);
  const metrics = config.ops.metrics
    ? new Metrics({
        events,
        store,
        clock,
        inventory,
        skuLimit: config.ops.metricsSkuLimit,
        ...(backups ? { backupAgeSeconds: () => backups.ageSeconds() } : {}),
      })
    : undefined;

  app.setErrorHandler((err, request, reply) => {
    const { payload, headers, unexpected } = toErrorResponse(err);
    if (unexpected) request.log.error({ err }, 'unhandled error');
    else if (payload.statusCode >= 500) request.log.warn({ err }, payload.error);
    return reply.code(payload.statusCode).headers(headers).send(payload);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(failure(404, 'ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)),
  );
  registerRequestHooks(app, { readiness, accessLog: config.ops.accessLog, metrics });
  app.addHook('onClose', async () => {
    await sweeper.stop();
    await backups?.stop();
    await store.close();
  });

  registerSecurityHeaders(app);
  await registerCompression(app);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: [...config.corsOrigins], methods: ['GET', 'POST', 'PATCH'], allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-idempotency-key'] });
  }
  await app.register(swagger, swaggerOptions);
  if (config.auth.mode === 'jwt') {
    registerAuth(app, makeTokenVerifier(config.auth, clock), { metricsToken: config.ops.metricsToken });
  } else {
    registerAuth(app, null);
    app.log.warn('AUTH_MODE=off: every caller may act for any userId; development only (production refuses to start this way)');
  }
  await registerRateLimit(app, config, { keyPrefix: options.rateLimitKeyPrefix });
  const deps: RouteDeps = { store, clock, inventory, reservations, checkout, respond: makeIdempotentResponder(idempotency) };
  await app.register(healthRoutes(deps, readiness));
  if (metrics) {
    const local = metrics;
    const scrape = options.scrape ?? (async () => {
      const registry = local.merged();
      return { contentType: registry.contentType, text: await registry.metrics() };
    });
    await app.register(metricsRoutes(scrape));
  }
  await app.register(inventoryRoutes(deps));
  await app.register(reservationRoutes(deps));
  await app.register(checkoutRoutes(deps));
  await app.register(docsRoutes);

  try {
    await app.ready();
  } catch (err) {
    await app.close();
    throw err;
  }
  if (ownsReadiness) readiness.ready();
  return { app, store, clock, events, inventory, reservations, checkout, sweeper, backups, readiness, metrics };
}

/** The business events an operator follows, one info line each. */
function logBusinessEvents(events: DomainEvents, log: Logger): void {
  events.on('reservation.expired', ({ reservationId, skus }) => log.info({ reservationId, skus }, 'reservation expired'));
  events.on('order.confirmed', ({ order }) =>
    log.info({ orderId: order.id, reservationId: order.reservationId, userId: order.userId }, 'order confirmed'),
  );
  events.on('order.cancelled', ({ order }) =>
    log.info({ orderId: order.id, reservationId: order.reservationId, userId: order.userId }, 'order cancelled'),
  );
}

/** The scheduled-backup job BACKUP_DIR asks for, on a store that can copy itself while serving. */
function scheduledBackups(config: Readonly<Config>, store: Store, clock: Clock, logger: FastifyBaseLogger): BackupJob | undefined {
  const { backup } = config;
  if (!backup.enabled) return undefined;
  const copy = store.backup?.bind(store);
  // Config refuses BACKUP_DIR for any store but a SQLite file, and the SQLite store can copy itself.
  assert(copy, 'BACKUP_DIR is set, so the store must offer online backups');
  return new BackupJob({ takeBackup: copy, dir: backup.dir, intervalMs: backup.intervalMs, keep: backup.keep, clock, logger });
}

/**
 * TLS_CERT_FILE and TLS_KEY_FILE: Fastify serves HTTPS (HTTP/1.1). Its `http` options are not
 * passed to an HTTPS server, so the header deadline goes here too. Typed as nothing more than an
 * object on purpose: an https.Server offers every http.Server member the app uses (connection
 * events, idle-connection closing, timeouts), so the app keeps its one HTTP/1.1 server type.
 */
function httpsOptions(config: Readonly<Config>): object {
  const { tls } = config;
  if (!tls.enabled) return {};
  return { https: { cert: tls.cert, key: tls.key, headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1_000 } };
}
