// `npm run bench:compression`: what compressing answers saves and costs. Times GET /inventory
// (100 products, about 30 KiB) with and without gzip over HTTP, alternating A-B-B-A, and the
// CPU of compressing one small reserve answer, which the server never compresses.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { freshSqlite } from './databases.js';
import { startServer } from './server-process.js';

const DURATION_S = Number(process.argv.find((a) => a.startsWith('--duration='))?.split('=')[1] ?? 5);

async function run(url: string, headers: Record<string, string>): Promise<{ rps: number; bytesPerAnswer: number }> {
  const result = await autocannon({ url, connections: 20, duration: DURATION_S, headers });
  return { rps: result.requests.mean, bytesPerAnswer: result.throughput.total / Math.max(1, result.requests.total) };
}

async function main(): Promise<void> {
  const db = freshSqlite('compression');
  const server = await startServer('stockhold', 'src/server.ts', { DATABASE_URL: db.url, LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0', ACCESS_LOG: 'off' });
  try {
    for (let i = 0; i < 100; i++) {
      await fetch(`${server.baseUrl}/inventory`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku: `LIST-${String(i).padStart(3, '0')}`, productName: `A product with a realistic name ${i}`, totalQuantity: 100, price: 19.99 }),
      });
    }
    const url = `${server.baseUrl}/inventory?limit=100`;
    await run(url, {}); // warm-up
    const plain: Array<{ rps: number; bytesPerAnswer: number }> = [];
    const gzip: Array<{ rps: number; bytesPerAnswer: number }> = [];
    for (const zipped of [false, true, true, false]) (zipped ? gzip : plain).push(await run(url, zipped ? { 'accept-encoding': 'gzip' } : {}));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stdout.write(
      `GET /inventory?limit=100, 20 connections, ${DURATION_S} s runs (A-B-B-A):\n` +
        `  identity: ${mean(plain.map((r) => r.rps)).toFixed(0)} req/s, ${mean(plain.map((r) => r.bytesPerAnswer)).toFixed(0)} bytes per answer\n` +
        `  gzip:     ${mean(gzip.map((r) => r.rps)).toFixed(0)} req/s, ${mean(gzip.map((r) => r.bytesPerAnswer)).toFixed(0)} bytes per answer\n`,
    );
    // A reserve answer as the server sends it, compressed the way the plugin would if it were allowed to.
    const reserve = await fetch(`${server.baseUrl}/inventory/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'bench', sku: 'LIST-000', quantity: 1 }),
    });
    const body = Buffer.from(await reserve.arrayBuffer());
    const rounds = 20_000;
    const time = (fn: () => Buffer) => {
      const started = process.cpuUsage();
      let size = 0;
      for (let i = 0; i < rounds; i++) size = fn().length;
      const used = process.cpuUsage(started);
      return { us: (used.user + used.system) / rounds, size };
    };
    const gz = time(() => gzipSync(body));
    const br = time(() => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }));
    process.stdout.write(
      `a reserve answer, ${body.length} bytes (never compressed by the server):\n` +
        `  gzip would make it ${gz.size} bytes for ${gz.us.toFixed(1)} µs of CPU; brotli q4 ${br.size} bytes for ${br.us.toFixed(1)} µs\n`,
    );
  } finally {
    await server.stop();
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
