// Request caps per client: a general limit on every route and a tighter one on reserving, counted
// in this process or, with RATE_LIMIT_REDIS_URL, in Redis so that every process and instance
// shares one count. A Redis outage lifts the limits (fail open) rather than failing requests.
import rateLimit, { normalizeIP, type FastifyRateLimitStoreCtor, type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { DomainError } from '../domain/errors.js';
import type { Principal } from './auth/principal.js';
import { boundedKey, WindowCounters } from './rate-limit-store.js';
import { isValidUserId } from './schemas/common.schema.js';

/** Load balancers poll health and tools fetch the spec: neither should ever be refused. */
export const RATE_LIMIT_EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz', '/metrics', '/openapi.json', '/openapi.yaml']);
const RESERVE_ROUTE = '/inventory/reserve';

export const DEFAULT_KEY_PREFIX = 'stockhold:rate-limit:';

// A dead Redis must cost a request at most this long; connecting at start-up waits as long.
const REDIS_CONNECT_TIMEOUT_MS = 1_000;
const REDIS_COMMAND_TIMEOUT_MS = 500;
// At flash-sale rates an outage would otherwise log a line per request.
const WARN_EVERY_MS = 10_000;

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** Whom a request is counted against: the authenticated principal, else the client address. */
export function clientKey(request: FastifyRequest): string {
  // Read defensively: without an auth hook registered the property may be missing altogether.
  const principal: Principal | null | undefined = request.principal;
  if (principal?.role === 'service') {
    // A storefront backend speaks for many shoppers: counting them all against its one token
    // would throttle the whole shop in a sale, so it is counted per shopper it names. Only a
    // userId the schema would accept names one: anything else counts against the service itself.
    const userId = (request.body as { userId?: unknown } | undefined)?.userId;
    if (typeof userId === 'string' && isValidUserId(userId)) return `service:${principal.sub}:user:${userId}`;
  }
  if (principal) return `${principal.role}:${principal.sub}`;
  // One IPv6 client usually holds a whole /64; counting per address would let it rotate freely.
  return `ip:${normalizeIP(request.ip)}`;
}

/**
 * The start-up warning for deployments whose limits silently multiply: several processes on
 * PostgreSQL each counting alone. undefined when counts are shared or there is one process.
 */
export function perProcessLimitWarning(config: Readonly<Config>): string | undefined {
  const { rateLimit: limits } = config;
  if (limits.max === 0 || limits.redisUrl !== undefined || config.database.kind !== 'postgres') return undefined;
  if (config.workers === 1 && config.nodeEnv !== 'production') return undefined;
  return (
    'rate limits are counted per process (RATE_LIMIT_REDIS_URL is not set): a client may make RATE_LIMIT_MAX ' +
    'requests to each process of each instance; set RATE_LIMIT_REDIS_URL to share the counts'
  );
}

/** Logs at most one warning per WARN_EVERY_MS, counting the ones it held back. */
function throttledWarn(log: FastifyBaseLogger): (err: unknown, message: string) => void {
  let lastAt = -Infinity;
  let held = 0;
  return (err, message) => {
    const now = Date.now();
    if (now - lastAt < WARN_EVERY_MS) {
      held++;
      return;
    }
    log.warn({ err, suppressedSinceLast: held }, message);
    lastAt = now;
    held = 0;
  };
}

async function openRedis(url: string, log: FastifyBaseLogger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    // While disconnected, commands fail at once instead of queueing behind the reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  const warn = throttledWarn(log);
  let down = false;
  redis.on('error', (err: unknown) => {
    down = true;
    warn(err, 'rate-limit Redis unreachable; serving without rate limits until it answers');
  });
  redis.on('ready', () => {
    if (down) log.info('rate-limit Redis answers again; rate limits apply');
    down = false;
  });
  try {
    await redis.connect();
  } catch {
    // Already logged by the error listener; ioredis keeps reconnecting in the background.
  }
  return redis;
}

/**
 * Registers the plugin in a scope of its own and returns its limiter: each scope gets its own
 * counters (in Redis, its own key prefix), so one request can be counted by both limits.
 */
async function limiterIn(app: FastifyInstance, options: RateLimitPluginOptions): Promise<Limiter> {
  let limiter: Limiter | undefined;
  await app.register(async (scope) => {
    // global: false adds no hooks of its own; ours below decides which limit applies to what.
    await scope.register(rateLimit, { ...options, global: false });
    limiter = scope.createRateLimit();
  });
  if (!limiter) throw new Error('rate-limit plugin did not register');
  return limiter;
}

/**
 * Counts one request against a limit; throws RATE_LIMITED once it is over. A store failure
 * (Redis down or slow) lets the request through: a limiter outage must not become an outage.
 */
async function enforce(limiter: Limiter, request: FastifyRequest, onStoreError: (err: unknown) => void): Promise<void> {
  let verdict: Awaited<ReturnType<Limiter>>;
  try {
    verdict = await limiter(request);
  } catch (err) {
    onStoreError(err);
    return;
  }
  if (verdict.isAllowed || !verdict.isExceeded) return;
  const retryAfterSeconds = Math.max(1, verdict.ttlInSeconds);
  throw new DomainError('RATE_LIMITED', `Too many requests; retry after ${retryAfterSeconds} s`, {
    limit: verdict.max,
    retryAfterSeconds,
  });
}

export interface RateLimitOptions {
  /** Prefix of the Redis keys; tests give each run its own. */
  keyPrefix?: string;
}

/** The per-process counter tables of an app's limits (general, then reserve); empty with Redis. */
const localCounters = new WeakMap<FastifyInstance, WindowCounters[]>();
export const localCountersOf = (app: FastifyInstance): readonly WindowCounters[] => localCounters.get(app) ?? [];

/** A store class the plugin can `new`, handing it the one table this limit counts in. */
function storeOf(counters: WindowCounters): FastifyRateLimitStoreCtor {
  return function LocalCounters() {
    return counters;
  } as unknown as FastifyRateLimitStoreCtor;
}

/** A service naming shoppers in its body is counted once the body is parsed; everyone else on arrival. */
const countsAfterBody = (request: FastifyRequest): boolean => request.principal?.role === 'service' && request.method === 'POST';

/**
 * Every route but the exempt ones is counted against RATE_LIMIT_MAX per client per window;
 * POST /inventory/reserve is also counted against RESERVE_RATE_LIMIT_MAX. Nothing is registered
 * when RATE_LIMIT_MAX is 0. Call before the routes are registered.
 */
export async function registerRateLimit(
  app: FastifyInstance,
  config: Readonly<Config>,
  options: RateLimitOptions = {},
): Promise<void> {
  const limits = config.rateLimit;
  if (limits.max === 0) return;
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const redis = limits.redisUrl === undefined ? undefined : await openRedis(limits.redisUrl, app.log);
  if (redis) app.addHook('onClose', async () => redis.disconnect());
  const shared = {
    timeWindow: limits.windowMs,
    // Bounded input (validated userIds, verified subs, addresses), stored at a bounded size.
    keyGenerator: (request: FastifyRequest) => boundedKey(clientKey(request)),
    // Store errors reach enforce(), which lets the request through and logs.
    skipOnError: false,
  };
  const tables: WindowCounters[] = [];
  const storeFor = (): Pick<RateLimitPluginOptions, 'redis' | 'store'> => {
    if (redis) return { redis };
    const table = new WindowCounters(limits.localClients);
    tables.push(table);
    return { store: storeOf(table) };
  };
  const general = await limiterIn(app, { ...shared, ...storeFor(), max: limits.max, nameSpace: `${keyPrefix}all:` });
  const reserve =
    limits.reserveMax > 0
      ? await limiterIn(app, { ...shared, ...storeFor(), max: limits.reserveMax, nameSpace: `${keyPrefix}reserve:` })
      : undefined;
  localCounters.set(app, tables);
  const onStoreError = throttledWarn(app.log);
  const storeFailed = (err: unknown) => onStoreError(err, 'rate-limit store failed; request served without rate limiting');
  const count = async (request: FastifyRequest): Promise<void> => {
    await enforce(general, request, storeFailed);
    if (reserve && request.routeOptions.url === RESERVE_ROUTE && request.method === 'POST') await enforce(reserve, request, storeFailed);
  };
  const exempt = (request: FastifyRequest): boolean => {
    const route = request.routeOptions.url;
    return route !== undefined && RATE_LIMIT_EXEMPT_ROUTES.has(route);
  };

  // onRequest, after the auth hook has named the principal: a client over its limit is refused
  // before its body is read or parsed. Malformed requests and unknown routes are counted too.
  const onArrival: onRequestHookHandler = (request, _reply, done) => {
    if (exempt(request) || countsAfterBody(request)) return done();
    count(request).then(() => done(), done);
  };
  app.addHook('onRequest', onArrival);
  // A service is counted per shopper its body names, so it must wait for the parsed body; its
  // userId is used only if valid (see clientKey), so no body can inflate a counter's key.
  app.addHook('preValidation', (request, _reply, done) => {
    if (exempt(request) || !countsAfterBody(request)) return done();
    count(request).then(() => done(), done);
  });
}
