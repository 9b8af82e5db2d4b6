// PostgreSQL goes away under a running instance: answers are 503 with Retry-After (never 500,
// never a partial effect), and service resumes on the same process when the database is back.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { queryDatabase, SKIP_WITHOUT_POSTGRES, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { startServer, type ServerProcess } from '../process/server-process.js';
import {
  assertBooksBalance,
  Cleanups,
  createProduct,
  send,
  sendExpecting,
  sleep,
  tally,
  testDatabase,
  type Answer,
} from './scale-helpers.js';

const SKU = 'OUTAGE-1';
const RECOVERY_MS = 10_000;

/** Run on the admin database (TEST_DATABASE_URL), never on the one under test. */
const admin = (text: string, values: unknown[] = []) => queryDatabase(TEST_DATABASE_URL as string, text, values);

const terminateBackends = (database: string) =>
  admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);

/** Identifiers cannot be bound; the test database names are ours and plain, but quote anyway. */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

function assertSuccessOr503(res: Answer, allowed: readonly number[]): void {
  if (allowed.includes(res.status)) return;
  assert.equal(res.status, 503, `a success or 503, never anything else: ${res.status} ${res.raw}`);
  assert.equal(res.body?.code, 'SERVICE_UNAVAILABLE', res.raw);
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/, `503 carries Retry-After: ${res.raw}`);
}

/** send(), but a request that gets no HTTP answer fails with what the server wrote on stderr. */
function sender(server: ServerProcess) {
  return async (...args: Parameters<typeof send>): Promise<Answer> => {
    try {
      return await send(...args);
    } catch (err) {
      await sleep(200); // let the child's last words arrive
      throw new Error(
        `${args[1]} ${args[2]} got no HTTP answer (server exited: ${server.hasExited()}): ${String((err as Error).cause ?? err)}\n` +
          `server stderr:\n${server.stderr()}`,
        { cause: err },
      );
    }
  };
}

/** Polls until `probe` returns true, within RECOVERY_MS, without restarting anything. */
async function eventually(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + RECOVERY_MS;
  while (!(await probe())) {
    assert.ok(Date.now() < deadline, `${what} within ${RECOVERY_MS} ms`);
    await sleep(100);
  }
}

describe('PostgreSQL outages', { skip: SKIP_WITHOUT_POSTGRES, timeout: 480_000 }, () => {
  test('when PostgreSQL drops every connection, requests get 503 and service resumes without a restart', async (t) => {
    const cleanups = new Cleanups();
    t.after(() => cleanups.run());
    const db = await testDatabase(cleanups);
    const server = await startServer(cleanups, { databaseUrl: db.url, env: { LOG_LEVEL: 'error' } });
    const url = server.baseUrl;
    const ask = sender(server);
    await createProduct(url, SKU, 1000);
    // Warm the pool so there are idle connections to lose.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sendExpecting(201, url, 'POST', '/inventory/reserve', { userId: `before-${i}`, sku: SKU, quantity: 1 }),
      ),
    );

    // Three waves of requests, the backends terminated while each wave is in flight.
    const requests: Array<Promise<{ res: Answer; allowed: number[] }>> = [];
    let terminated = 0;
    for (let wave = 0; wave < 3; wave++) {
      for (let i = wave * 30; i < (wave + 1) * 30; i++) {
        requests.push(
          i % 3 === 2
            ? ask(url, 'GET', `/inventory/${SKU}`).then((res) => ({ res, allowed: [200] }))
            : ask(url, 'POST', '/inventory/reserve', { userId: `burst-${i}`, sku: SKU, quantity: 1 }).then((res) => ({
                res,
                allowed: [201],
              })),
        );
      }
      terminated += (await terminateBackends(db.name)).length;
    }
    assert.ok(terminated > 0, 'the instance had connections to terminate');
    const burst = await Promise.all(requests);
    for (const { res, allowed } of burst) assertSuccessOr503(res, allowed);
    t.diagnostic(`answers while backends were terminated: ${JSON.stringify(tally(burst.map(({ res }) => res)))}`);

    await eventually('GET /healthz is 200 again', async () => (await ask(url, 'GET', '/healthz')).status === 200);
    await sendExpecting(201, url, 'POST', '/inventory/reserve', { userId: 'after-terminate', sku: SKU, quantity: 1 });
    assert.equal(server.hasExited(), false, 'the same process served throughout');
    await assertBooksBalance(db.url);
  });

  test('while PostgreSQL refuses connections /healthz and writes answer 503, and recover when it accepts them again', async (t) => {
    const cleanups = new Cleanups();
    t.after(() => cleanups.run());
    const db = await testDatabase(cleanups);
    const server = await startServer(cleanups, { databaseUrl: db.url, env: { LOG_LEVEL: 'error' } });
    const url = server.baseUrl;
    const ask = sender(server);
    await createProduct(url, SKU, 1000);
    await sendExpecting(201, url, 'POST', '/inventory/reserve', { userId: 'before', sku: SKU, quantity: 1 });

    await admin(`ALTER DATABASE ${ident(db.name)} ALLOW_CONNECTIONS false`);
    // Runs before the drop (cleanups are last in, first out), even when an assertion below fails.
    cleanups.after(() => admin(`ALTER DATABASE ${ident(db.name)} ALLOW_CONNECTIONS true`).then(() => undefined));
    await terminateBackends(db.name);

    await eventually('GET /healthz turns 503', async () => {
      const health = await ask(url, 'GET', '/healthz');
      assertSuccessOr503(health, [200]);
      return health.status === 503;
    });
    const refused = await Promise.all([
      ask(url, 'POST', '/inventory/reserve', { userId: 'during-1', sku: SKU, quantity: 1 }),
      ask(url, 'POST', '/inventory/reserve', { userId: 'during-2', sku: SKU, quantity: 1 }),
      ask(url, 'GET', `/inventory/${SKU}`),
    ]);
    for (const res of refused) assertSuccessOr503(res, []);

    await admin(`ALTER DATABASE ${ident(db.name)} ALLOW_CONNECTIONS true`);
    await eventually('GET /healthz is 200 again', async () => (await ask(url, 'GET', '/healthz')).status === 200);
    await sendExpecting(201, url, 'POST', '/inventory/reserve', { userId: 'during-1', sku: SKU, quantity: 1 });
    assert.equal(server.hasExited(), false, 'the same process served throughout');

    const [held] = await queryDatabase<{ n: number }>(
      db.url,
      `SELECT COUNT(*)::int AS n FROM reservations WHERE user_id IN ('before', 'during-1', 'during-2')`,
    );
    assert.equal(held?.n, 2, 'the refused requests left nothing behind');
    await assertBooksBalance(db.url);
  });
});
