import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { DomainEvents } from './domain/events.js';
import { uuidGenerator, type IdGenerator } from './domain/ids.js';
import { registerAuth } from './http/auth/auth-hooks.js';
import { applyConnectionLimits } from './http/connection-limits.js';
import { makeTokenVerifier } from './http/auth/token-verifier.js';
import { failure } from './http/envelope.js';
import { DEFAULT_BODY_LIMIT, useStrictJsonParser } from './http/json-body.js';
import { toErrorResponse } from './http/error-mapping.js';
import { makeIdempotentResponder } from './http/idempotency.js';
import { swaggerOptions } from './http/openapi/openapi-document.js';
import { refuseUnknownQueryParameters } from './http/query-rules.js';
import { registerRateLimit } from './http/rate-limit.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import type { RouteDeps } from './http/route-deps.js';
import { checkoutRoutes } from './http/routes/checkout.routes.js';
import { docsRoutes } from './http/routes/docs.routes.js';
import { healthRoutes } from './http/routes/health.routes.js';
import { inventoryRoutes } from './http/routes/inventory.routes.js';
import { reservationRoutes } from './http/routes/reservation.routes.js';
import { makeValidatorCompiler } from './http/validation.js';
import { ExpirySweeper } from './jobs/expiry-sweeper.js';
import { CheckoutService } from './services/checkout.service.js';
import { IdempotencyService } from './services/idempotency.service.js';
import { InventoryService } from './services/inventory.service.js';
import { ReconciliationService, runStartupCheck } from './services/reconciliation.service.js';
import { ReservationService } from './services/reservation.service.js';
import { SoldOutCache } from './services/sold-out-cache.js';
import { openStore } from './storage/open-store.js';
import type { Store } from './storage/store.js';

export const BODY_LIMIT_BYTES = DEFAULT_BODY_LIMIT;

/** Credentials never reach a log line, whichever object carries them. */
const LOG_REDACTIONS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  'config.auth',
];

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
  /** Seed the demo catalog into an empty store. Defaults to NODE_ENV !== 'production'. */
  seedDemoCatalog?: boolean;
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
}

/**
 * The composition root: opens the store (running its migrations), expires what fell due while
 * the service was down, seeds an empty development catalog, and wires the routes. Nothing
 * listens yet, and no background job runs until the caller starts the sweeper.
 */
export async function buildApp(options: AppOptions): Promise<Stockhold> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidGenerator;
  const store = options.store ?? (await openStore(config));
  const events = new DomainEvents();

  const app = Fastify({
    logger: { level: config.logLevel, redact: { paths: LOG_REDACTIONS, censor: '[redacted]' } },
    bodyLimit: BODY_LIMIT_BYTES,
    // Per-request lines are logged at debug by the onResponse hook below: at flash-sale rates, info-level access logs cost throughput.
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Behind a load balancer, request.ip (and so per-IP limits) must be the client, not the balancer.
    trustProxy: typeof config.trustProxy === 'object' ? [...config.trustProxy] : config.trustProxy,
    // Requests that arrive while closing get our own enveloped 503 (preHandler below), not Fastify's bare one.
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

  app.setErrorHandler((err, request, reply) => {
    const { payload, headers, unexpected } = toErrorResponse(err);
    if (unexpected) request.log.error({ err }, 'unhandled error');
    else if (payload.statusCode >= 500) request.log.warn({ err }, payload.error);
    return reply.code(payload.statusCode).headers(headers).send(payload);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(failure(404, 'ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)),
  );
  // Per-request lines only when someone reads them: a hook costs every request, logged or not.
  if (config.logLevel === 'debug' || config.logLevel === 'trace') {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.debug({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime }, 'request');
      done();
    });
  }
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    // Idle keep-alive sockets would otherwise hold close() open until the client drops them.
    app.server.closeIdleConnections();
  });
  // Callback hooks, not async ones: they run on every request, and a promise per hook shows at flash-sale rates.
  // Responses finished while closing end their keep-alive socket, so close() is not held open by it.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('preHandler', (_request, reply, done) => {
    if (!closing) return done();
    void reply
      .code(503)
      .headers({ 'retry-after': '1', connection: 'close' })
      .send(failure(503, 'SERVICE_UNAVAILABLE', 'The server is shutting down; retry shortly'));
  });
  app.addHook('onClose', async () => {
    await sweeper.stop();
    await store.close();
  });

  registerSecurityHeaders(app);
  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: [...config.corsOrigins], methods: ['GET', 'POST', 'PATCH'], allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-idempotency-key'] });
  }
  await app.register(swagger, swaggerOptions);
  if (config.auth.mode === 'jwt') {
    registerAuth(app, makeTokenVerifier(config.auth, clock));
  } else {
    registerAuth(app, null);
    app.log.warn('AUTH_MODE=off: every caller may act for any userId; development only (production refuses to start this way)');
  }
  await registerRateLimit(app, config, { keyPrefix: options.rateLimitKeyPrefix });
  const deps: RouteDeps = { store, clock, inventory, reservations, checkout, respond: makeIdempotentResponder(idempotency) };
  await app.register(healthRoutes(deps));
  await app.register(inventoryRoutes(deps));
  await app.register(reservationRoutes(deps));
  await app.register(checkoutRoutes(deps));
  await app.register(docsRoutes);

  try {
    // The only process on its database: nothing of another one is in flight now.
    if (store.capabilities.soleWriter) {
      const released = await idempotency.releaseAbandoned();
      if (released > 0) app.log.info({ released }, 'freed Idempotency-Keys left pending by the previous process');
    }
    const swept = await sweeper.runOnce();
    if (swept.expired > 0) app.log.info({ expired: swept.expired }, 'expired reservations that fell due while stopped');
    await runStartupCheck(new ReconciliationService({ store, clock, events }), config.startupCheck, app.log);
    if (options.seedDemoCatalog ?? config.nodeEnv !== 'production') {
      if ((await inventory.count()) === 0) {
        const seeded = await inventory.seedDemoCatalog();
        app.log.info({ inserted: seeded.inserted }, `catalog was empty: seeded the demo catalog (${seeded.inserted} products)`);
      }
    }
    await app.ready();
  } catch (err) {
    await app.close();
    throw err;
  }
  return { app, store, clock, events, inventory, reservations, checkout, sweeper };
}
