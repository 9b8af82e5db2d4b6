import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { DomainError } from '../../domain/errors.js';
import { ok } from '../envelope.js';
import type { Readiness } from '../ops/readiness.js';
import type { RouteDeps } from '../route-deps.js';
import { Envelope } from '../schemas/common.schema.js';
import { refusals } from '../schemas/error.schema.js';

const HealthView = Type.Object(
  {
    status: Type.Literal('ok'),
    store: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
    time: Type.String({ format: 'date-time', description: "The server's clock" }),
    uptime: Type.Number({ description: 'Seconds since this server process started serving' }),
  },
  { additionalProperties: false },
);

/** A store that has not answered a ping in this long is not answering. */
const PING_TIMEOUT_MS = 2_000;

async function pingStore(deps: RouteDeps): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`store did not answer a ping within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([deps.store.ping(), timeout]);
  } catch (err) {
    throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('store ping failed', { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /livez: the process runs (restart it if not). /readyz: send it traffic (503 while starting,
 * draining, or when the store does not answer). /healthz: the older combined check, kept as it was.
 */
export const healthRoutes =
  (deps: RouteDeps, readiness: Readiness): FastifyPluginAsyncTypebox =>
  async (app) => {
    const startedAt = deps.clock.now();
    const probe = { access: 'public' as const, servedWhileDraining: true };
    app.get(
      '/livez',
      { config: probe, schema: { tags: ['health'], summary: 'Whether the process runs', response: { 200: Envelope(Type.Object({ status: Type.Literal('live') }, { additionalProperties: false })) } } },
      async () => ok(200, 'OK', { status: 'live' as const }),
    );
    app.get(
      '/readyz',
      {
        config: probe,
        schema: { tags: ['health'], summary: 'Whether to send this process traffic', response: { 200: Envelope(Type.Object({ status: Type.Literal('ready') }, { additionalProperties: false })), ...refusals({ 503: ['SERVICE_UNAVAILABLE'] }) } },
      },
      async () => {
        if (readiness.state !== 'ready') {
          const message = readiness.draining ? 'The server is shutting down' : 'The server is starting';
          throw new DomainError('SERVICE_UNAVAILABLE', message, { state: readiness.state, retryAfterSeconds: 1 });
        }
        await pingStore(deps);
        return ok(200, 'OK', { status: 'ready' as const });
      },
    );
    app.get(
      '/healthz',
      {
        config: probe,
        schema: {
          tags: ['health'],
          summary: 'Whether the server and its store answer',
          response: { 200: Envelope(HealthView), ...refusals({ 503: ['SERVICE_UNAVAILABLE'] }) },
        },
      },
      async () => {
        await pingStore(deps);
        const now = deps.clock.now();
        return ok(200, 'OK', { status: 'ok' as const, store: deps.store.kind, time: new Date(now).toISOString(), uptime: (now - startedAt) / 1000 });
      },
    );
  };
