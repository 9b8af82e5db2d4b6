import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** The text exposition of every metric; with WORKERS > 1, of the whole process group. */
export type Scrape = () => Promise<{ contentType: string; text: string }>;

/** GET /metrics for Prometheus. With AUTH_MODE=jwt: the admin role or the METRICS_TOKEN bearer. */
export const metricsRoutes =
  (scrape: Scrape): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/metrics', { config: { access: 'metrics', servedWhileDraining: true }, schema: { hide: true } }, async (_request, reply) => {
      const { contentType, text } = await scrape();
      return reply.type(contentType).send(text);
    });
  };
