import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { StoreUnavailableError } from '../../domain/store-unavailable.js';
import { ok } from '../envelope.js';
import type { RouteDeps } from '../route-deps.js';
import { Envelope, ErrorEnvelope } from '../schemas/common.schema.js';

export const healthRoutes =
  (deps: RouteDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/healthz',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          response: { 200: Envelope(Type.Object({ status: Type.String(), store: Type.String() })), 503: ErrorEnvelope },
        },
      },
      async () => {
        try {
          await deps.store.ping();
        } catch (err) {
          throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('store ping failed', { cause: err });
        }
        return ok(200, 'OK', { status: 'ok', store: deps.store.kind });
      },
    );
  };
