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
    // A CORS preflight carries the query of the request it asks about, which is judged on its own.
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.schema?.querystring !== undefined || methods.includes('OPTIONS')) return;
    route.schema = { ...route.schema, querystring: NoQuery };
  });
}
