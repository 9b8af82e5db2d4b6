import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Routes whose answers can run to kilobytes (lists, the ledger, the API description): compressed
 * when the client accepts it and the body is over COMPRESS_MIN_BYTES. Every other answer (a
 * reserve, a confirm, one product) is a few hundred bytes, where compressing costs more CPU
 * than the bytes it saves: those routes get no compression hook at all.
 */
const COMPRESSIBLE_ROUTES: ReadonlySet<string> = new Set([
  'GET /inventory',
  'GET /inventory/:sku/movements',
  'GET /openapi.json',
  'GET /openapi.yaml',
]);

/** Bodies smaller than this are sent as they are: under a few packets, compression saves no round trip. */
export const COMPRESS_MIN_BYTES = 1024;

/**
 * Registers response compression (brotli at quality 4, gzip, deflate) for the routes above only,
 * and never decompresses request bodies: a compressed upload would let a small request expand
 * past the body limits. Must run before the routes are registered.
 */
export async function registerCompression(app: FastifyInstance): Promise<void> {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const wanted = methods.some((method) => COMPRESSIBLE_ROUTES.has(`${method} ${route.url}`));
    // The plugin's own onRoute hook runs after this one and reads the choice made here.
    route.compress = wanted ? {} : false;
    route.decompress = false;
  });
  await app.register(compress, { global: false, globalDecompression: false, threshold: COMPRESS_MIN_BYTES });
}
