import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/** No query parameters at all: what a route gets unless it declares its own. */
const NoQuery = Type.Object({}, { additionalProperties: false });

/**
 * A query parameter a route does not know is refused (400), never silently ignored: a client
 * that misspells one should find out. Applies to the routes registered after this call.
 */
export function refuseUnknownQueryParameters(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.querystring !== undefined) return;
    route.schema = { ...route.schema, querystring: NoQuery };
  });
}
