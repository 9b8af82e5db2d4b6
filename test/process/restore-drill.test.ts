import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkRestored, startDrillLoad } from './drill-load.js';
import { expectStatus, runNode, startServer, tempDir } from './server-process.js';

const SKUS = ['LAPTOP001', 'PHONE001', 'HEADSET001', 'CHARGER001'];
const SHORT_TTL = { RESERVATION_TTL: '1000', CLEANUP_INTERVAL: '100', LOG_LEVEL: 'warn' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('restore drill (SQLite): a backup taken under load restores to balanced books holding everything acknowledged before it', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'stockhold-drill-');
  const live = `sqlite:${join(dir, 'live.db')}`;
  const backup = join(dir, 'backups', 'copy.db');
  const restored = `sqlite:${join(dir, 'restored.db')}`;

  const server = await startServer(t, { databaseUrl: live, env: SHORT_TTL });
  const load = startDrillLoad(server.baseUrl, SKUS);
  await sleep(1_500); // reserves, confirms, cancels and expiries under way

  const backupStartedAt = performance.now();
  const taken = await runNode(t, 'bin/stockhold.mjs', { ...process.env, DATABASE_URL: live }, ['backup', backup]);
  assert.equal(taken.code, 0, taken.stderr);
  assert.match(taken.stdout, /^backup: \S+copy\.db: [\d.]+ MiB \(\d+ bytes\), last ledger id [1-9]\d*, taken \S+Z in \d+ ms\n$/);

  await sleep(1_000); // the load goes on after the backup
  const log = await load.stop();
  assert.equal((await server.stop('SIGTERM')).code, 0);

  const restore = await runNode(t, 'bin/stockhold.mjs', { ...process.env, DATABASE_URL: restored }, ['restore', backup]);
  assert.equal(restore.code, 0, `${restore.stdout}\n${restore.stderr}`);
  assert.match(restore.stdout, /restore: migrations applied; the restored books balance \(\d+ skus checked, 0 drifted\)/);

  const again = await startServer(t, { databaseUrl: restored, env: SHORT_TTL });
  const checked = await checkRestored(again.baseUrl, log, backupStartedAt);
  assert.ok(checked.reservations > 0 && checked.orders > 0, `the drill saw acknowledged reservations and orders before the backup: ${JSON.stringify(checked)}`);
  t.diagnostic(`drill: ${log.requests} requests, ${log.reservations.size} reservations acknowledged; ${checked.reservations} reservations and ${checked.orders} orders from before the backup found in a legal state`);

  // It serves: a new hold and its confirm on the restored books.
  const hold = await expectStatus(again.baseUrl, 'POST', '/inventory/reserve', 201, { userId: 'after-restore', sku: 'SPEAKER001', quantity: 1 });
  await expectStatus(again.baseUrl, 'POST', '/checkout/confirm', 201, { userId: 'after-restore', reservationId: hold.body.data.reservationId });
  assert.equal((await again.stop('SIGTERM')).code, 0);
  const verify = await runNode(t, 'bin/stockhold.mjs', { ...process.env, DATABASE_URL: restored }, ['verify']);
  assert.equal(verify.code, 0, verify.stdout);
});

test('restore refuses, changing nothing, while a server has the database open', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t, 'stockhold-drill-');
  const live = `sqlite:${join(dir, 'live.db')}`;
  const backup = join(dir, 'copy.db');
  const server = await startServer(t, { databaseUrl: live, env: { LOG_LEVEL: 'warn' } });
  const taken = await runNode(t, 'bin/stockhold.mjs', { ...process.env, DATABASE_URL: live }, ['backup', backup]);
  assert.equal(taken.code, 0, taken.stderr);
  const hold = await expectStatus(server.baseUrl, 'POST', '/inventory/reserve', 201, { userId: 'kept', sku: 'PHONE001', quantity: 1 });

  const refused = await runNode(t, 'bin/stockhold.mjs', { ...process.env, DATABASE_URL: live }, ['restore', backup]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, new RegExp(`in use by process .*${server.child.pid}.*stop the server first`));
  // The server's own writes are still there: nothing was replaced.
  await expectStatus(server.baseUrl, 'GET', `/reservation/${hold.body.data.reservationId}`, 200);
});
