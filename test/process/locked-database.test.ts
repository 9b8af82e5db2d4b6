// A real server whose SQLite file another process locks for writing: it keeps running, answers
// 503 with Retry-After (after its busy timeout), and serves again once the lock is released.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { expectStatus, http, startServer, tempDir, type HttpResult } from './server-process.js';

function assert503(res: HttpResult, what: string): void {
  assert.equal(res.status, 503, `${what}: ${res.raw}`);
  assert.equal(res.body?.code, 'SERVICE_UNAVAILABLE', what);
  assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what} carries Retry-After`);
}

test('a server whose database another process has locked answers 503 and keeps running; unlocking resumes service', { timeout: 120_000 }, async (t) => {
  const filename = join(tempDir(t), 'locked.db');
  const server = await startServer(t, { databaseUrl: `sqlite:${filename}` });
  const url = server.baseUrl;
  await expectStatus(url, 'POST', '/inventory', 201, { sku: 'LOCK', productName: 'Lock', price: 10, totalQuantity: 5 });

  const other = new Database(filename);
  t.after(() => other.close());
  other.exec('BEGIN EXCLUSIVE');
  try {
    const [reserved, created, health] = await Promise.all([
      http(url, 'POST', '/inventory/reserve', { userId: 'u1', sku: 'LOCK', quantity: 1 }),
      http(url, 'POST', '/inventory', { sku: 'NEW', productName: 'New', price: 10, totalQuantity: 1 }),
      http(url, 'GET', '/healthz'),
    ]);
    assert503(reserved, 'reserve');
    assert503(created, 'create');
    assert503(health, '/healthz');
    assert.equal(server.hasExited(), false, 'the server is still running');
  } finally {
    other.exec('COMMIT');
  }

  await expectStatus(url, 'GET', '/healthz', 200);
  await expectStatus(url, 'POST', '/inventory/reserve', 201, { userId: 'u1', sku: 'LOCK', quantity: 1 });
  await expectStatus(url, 'POST', '/inventory', 201, { sku: 'NEW', productName: 'New', price: 10, totalQuantity: 1 });
  const product = await expectStatus(url, 'GET', '/inventory/LOCK', 200);
  assert.equal(product.body.data.reservedQuantity, 1, 'only the reserve after the lock took a unit');
  const exit = await server.stop('SIGTERM');
  assert.equal(exit.code, 0, `clean exit after the fault: ${server.stderr()}`);
});
