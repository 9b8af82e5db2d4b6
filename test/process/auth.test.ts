import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { freePort, http, logLines, meaningfulLines, runNode, serverEnv, startServer, tempDir } from './server-process.js';

const SECRET = 'process-test-secret-0123456789-abcdefghij';

const sign = (sub: string, role: string) =>
  new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

test('NODE_ENV=production without authentication refuses to start, with one line naming AUTH_MODE', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const env = serverEnv(await freePort(), `sqlite:${join(dir, 'prod.db')}`, { NODE_ENV: 'production', AUTH_MODE: '' });
  const run = await runNode(t, 'src/server.ts', env);
  assert.equal(run.code, 1);
  const lines = meaningfulLines(run.stderr);
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] as string, /AUTH_MODE/);
});

test('AUTH_MODE=off in development starts with exactly one warning line saying so', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t, { databaseUrl: `sqlite:${join(tempDir(t), 'dev.db')}`, env: { AUTH_MODE: 'off' } });
  const warnings = logLines(server.stdout()).filter((line) => String(line.msg).includes('AUTH_MODE=off'));
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.level, 40);
});

test('in production, tokens and secrets never reach a log line, and errors carry no internals', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t, {
    databaseUrl: `sqlite:${join(tempDir(t), 'prod.db')}`,
    env: { NODE_ENV: 'production', AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, LOG_LEVEL: 'trace' },
  });
  const admin = await sign('ops', 'admin');
  const customer = await sign('erin', 'customer');
  const forged = `${customer.slice(0, -4)}AAAA`;
  const as = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

  const answers = [
    await http(server.baseUrl, 'POST', '/inventory', { sku: 'PROD1', productName: 'P', price: 1, totalQuantity: 2 }, as(admin)),
    await http(server.baseUrl, 'POST', '/inventory/reserve', { userId: 'erin', sku: 'PROD1', quantity: 1 }, as(customer)),
    await http(server.baseUrl, 'POST', '/inventory/reserve', { userId: 'erin', sku: 'PROD1', quantity: 1 }, as(forged)),
    await http(server.baseUrl, 'POST', '/inventory/reserve', { userId: 'someone-else', sku: 'PROD1', quantity: 1 }, as(customer)),
    await http(server.baseUrl, 'POST', '/inventory/reserve', '{"userId": broken', as(customer)),
    await http(server.baseUrl, 'GET', '/reservation/not-a-uuid', undefined, as(customer)),
  ];
  assert.deepEqual(
    answers.map((a) => a.status),
    [201, 201, 401, 403, 400, 404],
  );
  for (const answer of answers) {
    assert.doesNotMatch(answer.raw, /\bat .+:\d+:\d+|node_modules|SELECT |INSERT |sqlite|stack/i, answer.raw);
  }
  const { stdout, stderr } = server;
  const output = stdout() + stderr();
  assert.ok(logLines(stdout()).length > 5, 'trace logging was on');
  for (const secret of [SECRET, admin, customer, forged, admin.split('.')[2] as string]) {
    assert.equal(output.includes(secret), false, 'a credential reached the log');
  }
});
