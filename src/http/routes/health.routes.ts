import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { ok } from '../envelope.js';
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

export const healthRoutes =
  (deps: RouteDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    const startedAt = deps.clock.now();
    app.get(
      '/healthz',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          summary: 'Whether the server and its store answer',
          response: { 200: Envelope(HealthView), ...refusals({ 503: ['SERVICE_UNAVAILABLE'] }) },
        },
      },
      async () => {
        try {
          await deps.store.ping();
        } catch (err) {
          throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('store ping failed', { cause: err });
        }
        const now = deps.clock.now();
        return ok(200, 'OK', { status: 'ok' as const, store: deps.store.kind, time: new Date(now).toISOString(), uptime: (now - startedAt) / 1000 });
      },
    );
  };
