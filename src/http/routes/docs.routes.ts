import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

export const DOCS_PREFIX = '/docs';

// The reference page loads only its own scripts and styles, bundled in and served from the
// @fastify/swagger-ui package (no CDN), and talks only to this server.
const DOCS_CSP = [
  "default-src 'none'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "script-src 'self'",
  "style-src 'self'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/** The description (JSON and YAML), the interactive reference at /docs, and / pointing a browser there. */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  const meta = { tags: ['meta'] };
  app.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: { ...meta, summary: 'This description, as JSON', response: { 200: Type.Object({ openapi: Type.String() }, { additionalProperties: true }) } },
    },
    async (_request, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger())),
  );
  app.get(
    '/openapi.yaml',
    {
      config: { access: 'public' },
      schema: { ...meta, summary: 'This description, as YAML', produces: ['application/yaml'], response: { 200: Type.String() } },
    },
    async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })),
  );
  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: {
        ...meta,
        summary: 'Sends a browser to the API reference',
        response: { 302: { description: 'Redirect to /docs', type: 'null', headers: { Location: { type: 'string', const: DOCS_PREFIX } } } },
      },
    },
    async (_request, reply) => reply.redirect(DOCS_PREFIX, 302),
  );
  // The reference pages are public, like the description they show.
  app.addHook('onRoute', (route) => {
    if (route.url?.startsWith(DOCS_PREFIX)) route.config = { ...route.config, access: 'public' };
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: DOCS_CSP, uiConfig: { deepLinking: true } });
}
