import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import { Cleanups, createProduct, testDatabase } from '../scale/scale-helpers.js';
import { drainWithRequestsInFlight } from './drain-scenario.js';
import { portClosed } from './raw-http.js';
import { childPids, freePort, http, isAlive, ROOT, serverEnv, startServer, tempDir } from './server-process.js';

const DEADLINE_MS = 10_000;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: every request in flight is answered, none reset, and the process exits 0`, async (t) => {
    const file = join(tempDir(t), 'x.db');
    const server = await startServer(t, { databaseUrl: `sqlite:${file}` });
    const counts = await drainWithRequestsInFlight(t, server, { sku: 'HEADSET001', signal, deadlineMs: DEADLINE_MS });
    assert.ok(counts.reserved <= 20, 'never more than the stock of 20');

    // Nothing was cut off after its effect: every reservation on disk had its 201 delivered.
    // The WAL is gone, so the database was closed cleanly (the last close checkpoints and removes it).
    assert.equal(existsSync(`${file}-wal`), false, 'the database was closed, WAL checkpointed');
    const db = new Database(file, { readonly: true });
    try {
      const onDisk = db.prepare("SELECT COUNT(*) FROM reservations WHERE user_id LIKE 'drain-%'").pluck().get();
      const held = db.prepare("SELECT reserved FROM products WHERE sku = 'HEADSET001'").pluck().get();
      assert.deepEqual({ onDisk, held }, { onDisk: counts.reserved, held: counts.reserved }, 'effects on disk = 201s delivered');
    } finally {
      db.close();
    }
  });
}

describe('WORKERS=2 on PostgreSQL', { skip: SKIP_WITHOUT_POSTGRES }, () => {
  test('SIGTERM to the primary: every request in flight is answered, none reset, all exit 0', async (t) => {
    const cleanups = new Cleanups();
    t.after(() => cleanups.run());
    const db = await testDatabase(cleanups);
    const server = await startServer(cleanups, { databaseUrl: db.url, env: { WORKERS: '2', DATABASE_POOL_SIZE: '5' } });
    await createProduct(server.baseUrl, 'DRAIN-PG', 30);
    // One scrape covers both workers: counters are summed, gauges read from the store are not.
    const before = await Promise.all(
      Array.from({ length: 10 }, (_, i) => http(server.baseUrl, 'POST', '/inventory/reserve', { userId: `pre-${i}`, sku: 'DRAIN-PG', quantity: 1 })),
    );
    assert.deepEqual(before.map((r) => r.status), Array(10).fill(201));
    for (let scrape = 0; scrape < 4; scrape++) {
      const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
      assert.match(text, /^stockhold_reserve_requests_total\{outcome="created"\} 10$/m, text);
      assert.match(text, /^stockhold_sku_reserved_units\{sku="DRAIN-PG"\} 10$/m);
    }
    const counts = await drainWithRequestsInFlight(t, server, { sku: 'DRAIN-PG', signal: 'SIGTERM', deadlineMs: DEADLINE_MS });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>("SELECT COUNT(*) AS n FROM reservations WHERE user_id LIKE 'drain-%'");
      assert.equal(Number(rows[0]?.n), counts.reserved, 'effects in the database = 201s delivered');
    } finally {
      await client.end();
    }
  });
});

/** Every pid in the tree under `root`, root included. */
function processTree(root: number): number[] {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...childPids(tree[i] as number));
  return tree;
}

test('npm start, as the README runs it, stops when its pid is sent SIGTERM: port closed, no process left', async (t) => {
  const port = await freePort();
  const env = serverEnv(port, `sqlite:${join(tempDir(t), 'npm-start.db')}`);
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  npm.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => npm.once('close', (code) => resolve(code)));
  let tree: number[] = [];
  t.after(() => {
    for (const pid of tree) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
    assert.ok(Date.now() < deadline, `npm start serves within 20 s:\n${output}`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
    if (res?.status === 200) break;
  }
  tree = processTree(npm.pid as number);
  assert.ok(tree.length >= 2, `npm and the server: ${tree.join(', ')}`);

  const started = performance.now();
  npm.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), DEADLINE_MS))]);
  assert.notEqual(code, 'timeout', `npm exits within the deadline:\n${output}`);
  assert.ok(await portClosed(port, 1_000), 'the port is closed');
  for (const deadline = Date.now() + 1_000; tree.some(isAlive) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(tree.filter(isAlive), [], `every process of the tree ${tree.join(', ')} is gone`);
  assert.match(output, /"msg":"shut down cleanly"/, 'the server itself received the signal and drained');
  t.diagnostic(`npm start tree ${tree.length} processes, gone in ${Math.round(performance.now() - started)} ms, npm exit ${code}`);
});
