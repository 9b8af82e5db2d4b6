import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { failure, ok } from '../envelope.js';
import type { Readiness } from '../ops/readiness.js';
import type { RouteDeps } from '../route-deps.js';
import { Envelope, ErrorEnvelope } from '../schemas/common.schema.js';

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
    const probe = { access: 'public' as const, servedWhileDraining: true };
    app.get(
      '/livez',
      { config: probe, schema: { tags: ['health'], response: { 200: Envelope(Type.Object({ status: Type.Literal('live') })) } } },
      async () => ok(200, 'OK', { status: 'live' as const }),
    );
    app.get(
      '/readyz',
      {
        config: probe,
        schema: { tags: ['health'], response: { 200: Envelope(Type.Object({ status: Type.Literal('ready') })), 503: ErrorEnvelope } },
      },
      async (_request, reply) => {
        if (readiness.state !== 'ready') {
          const message = readiness.draining ? 'The server is shutting down' : 'The server is starting';
          return reply.code(503).header('retry-after', '1').send(failure(503, 'SERVICE_UNAVAILABLE', message, { state: readiness.state }));
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
          response: { 200: Envelope(Type.Object({ status: Type.String(), store: Type.String() })), 503: ErrorEnvelope },
        },
      },
      async () => {
        await pingStore(deps);
        return ok(200, 'OK', { status: 'ok', store: deps.store.kind });
      },
    );
  };
