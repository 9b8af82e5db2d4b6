// The ceiling: a bare Fastify server answering a tiny JSON POST. Its throughput under the same
// autocannon settings is the HTTP stack's own limit on this machine, the denominator of every ratio.
import Fastify from 'fastify';

const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.post<{ Body: { userId?: unknown } }>(
  '/ceiling',
  {
    schema: {
      response: {
        200: { type: 'object', properties: { ok: { type: 'boolean' }, userId: { type: 'string' } } },
      },
    },
  },
  async (request) => ({ ok: true, userId: String(request.body?.userId ?? '') }),
);

const shutdown = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
