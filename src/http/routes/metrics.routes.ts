import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** The text exposition of every metric; with WORKERS > 1, of the whole process group. */
export type Scrape = () => Promise<{ contentType: string; text: string }>;

/** GET /metrics for Prometheus. With AUTH_MODE=jwt: the admin role or the METRICS_TOKEN bearer. */
export const metricsRoutes =
  (scrape: Scrape): FastifyPluginAsyncTypebox =>
  async (app) => {
    const schema = {
      tags: ['ops'],
      summary: "Prometheus metrics, in Prometheus's text format",
      description: 'With AUTH_MODE=jwt, an admin token or `Authorization: Bearer <METRICS_TOKEN>`.',
      response: { 200: { description: 'The text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    };
    app.get('/metrics', { config: { access: 'metrics', servedWhileDraining: true }, schema }, async (_request, reply) => {
      const { contentType, text } = await scrape();
      return reply.type(contentType).send(text);
    });
  };
