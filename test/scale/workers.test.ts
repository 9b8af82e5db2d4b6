// WORKERS=N: one primary forks N processes that share the port (node:cluster), PostgreSQL only.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import { childPids, freePort, isAlive, logLines, runNode, startServer, serverEnv, tempDir } from '../process/server-process.js';
import { Cleanups, createProduct, send, sleep, tally, testDatabase } from './scale-helpers.js';

const EXIT_BOUND_MS = 10_000;

describe('WORKERS=2 on PostgreSQL', { skip: SKIP_WITHOUT_POSTGRES, timeout: 480_000 }, () => {
  test('WORKERS=2 serves from two processes on one port', async (t) => {
    const cleanups = new Cleanups();
    t.after(() => cleanups.run());
    const db = await testDatabase(cleanups);
    const server = await startServer(cleanups, { databaseUrl: db.url, env: { WORKERS: '2', LOG_LEVEL: 'debug' } });
    const primary = server.child.pid as number;
    let workerPids: number[] = [];
    // If the primary is killed without a chance to drain, its workers must not outlive the test.
    cleanups.after(() => {
      for (const pid of workerPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    // /healthz answers as soon as one worker listens; wait for both, and for the primary to say so.
    const listening = () =>
      logLines(server.stdout()).filter((line) => String(line.msg).startsWith('Server listening') && line.pid !== primary);
    const serving = () => logLines(server.stdout()).some((line) => line.msg === 'stockhold is serving' && line.pid === primary);
    for (const deadline = Date.now() + 10_000; listening().length < 2 || !serving(); await sleep(50)) {
      assert.ok(Date.now() < deadline, `two workers listening within 10 s:\n${server.stdout()}\n${server.stderr()}`);
    }
    workerPids = [...new Set(listening().map((line) => Number(line.pid)))];
    assert.equal(workerPids.length, 2, 'two distinct worker processes listen');
    assert.deepEqual(childPids(primary).sort(), [...workerPids].sort(), 'the workers are children of the primary');
    const [servingLine] = logLines(server.stdout()).filter((line) => line.msg === 'stockhold is serving');
    assert.equal(servingLine?.workers, 2, 'the primary reports serving with two workers');

    await createProduct(server.baseUrl, 'WORKERS-TWO', 500);
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        i % 2 === 0
          ? send(server.baseUrl, 'POST', '/inventory/reserve', { userId: `worker-buyer-${i}`, sku: 'WORKERS-TWO', quantity: 1 })
          : send(server.baseUrl, 'GET', '/inventory/WORKERS-TWO'),
      ),
    );
    assert.deepEqual(tally(answers), { '200': 60, '201': 60 });
    const { body } = await send(server.baseUrl, 'GET', '/inventory/WORKERS-TWO');
    assert.equal(body.data.reservedQuantity, 60);
    // The per-request debug lines carry the pid of the worker that answered.
    const served = new Set(logLines(server.stdout()).filter((line) => line.msg === 'request').map((line) => line.pid));
    assert.deepEqual([...served].sort(), [...workerPids].sort(), 'both workers answered requests');

    const exit = await server.stop('SIGTERM');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, server.stderr());
    assert.ok(exit.ms < EXIT_BOUND_MS, `exited in ${Math.round(exit.ms)} ms`);
    assert.deepEqual(workerPids.filter(isAlive), [], 'no worker outlives the primary');
  });
});

test('WORKERS=2 on SQLite refuses with a clear message', { timeout: 120_000 }, async (t) => {
  const file = join(tempDir(t), 'workers.db');
  const run = await runNode(t, 'src/server.ts', serverEnv(await freePort(), `sqlite:${file}`, { WORKERS: '2' }));
  assert.equal(run.code, 1, `exit code\n${run.stderr}`);
  const lines = run.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('(node:') && !line.startsWith('(Use `node --trace-'));
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0] as string, /\bWORKERS\b/);
  assert.match(lines[0] as string, /PostgreSQL/);
  assert.equal(run.stdout.trim(), '', 'nothing was served');
});
