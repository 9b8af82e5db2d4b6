// The restore drill on PostgreSQL: a logical backup (pg_dump) taken under load, restored with
// pg_restore into a new database, holds everything acknowledged before it and balances.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import { checkRestored, startDrillLoad } from '../process/drill-load.js';
import { runNode, startServer } from '../process/server-process.js';
import { assertBooksBalance, Cleanups, sendExpecting, sleep, testDatabase } from './scale-helpers.js';

const run = promisify(execFile);
const SKUS = ['LAPTOP001', 'PHONE001', 'HEADSET001', 'CHARGER001'];
const SHORT_TTL = { RESERVATION_TTL: '1000', CLEANUP_INTERVAL: '100', LOG_LEVEL: 'info', DATABASE_POOL_SIZE: '5' };

test('restore drill (PostgreSQL): pg_dump under load, pg_restore into a new database, balanced books with everything acknowledged before it', { skip: SKIP_WITHOUT_POSTGRES, timeout: 120_000 }, async () => {
  const cleanups = new Cleanups();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'stockhold-pg-drill-'));
    cleanups.after(() => rmSync(dir, { recursive: true, force: true }));
    const dump = join(dir, 'stockhold.dump');
    const live = await testDatabase(cleanups);
    const restored = await testDatabase(cleanups);

    const server = await startServer(cleanups, { databaseUrl: live.url, env: SHORT_TTL });
    const load = startDrillLoad(server.baseUrl, SKUS);
    await sleep(1_500);
    const backupStartedAt = performance.now();
    // Custom format: compressed, and pg_restore can restore it in parallel or table by table.
    await run('pg_dump', ['--format=custom', '--no-owner', `--file=${dump}`, `--dbname=${live.url}`]);
    await sleep(1_000);
    const log = await load.stop();
    assert.equal((await server.stop('SIGTERM')).code, 0);

    await run('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${restored.url}`, dump]);
    const verify = await runNode(cleanups, 'src/cli/verify.ts', { ...process.env, DATABASE_URL: restored.url });
    assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
    await assertBooksBalance(restored.url);

    const again = await startServer(cleanups, { databaseUrl: restored.url, env: SHORT_TTL });
    const checked = await checkRestored(again.baseUrl, log, backupStartedAt);
    assert.ok(checked.reservations > 0 && checked.orders > 0, `the drill saw acknowledged reservations and orders before the backup: ${JSON.stringify(checked)}`);
    const hold = await sendExpecting(201, again.baseUrl, 'POST', '/inventory/reserve', { userId: 'after-restore', sku: 'SPEAKER001', quantity: 1 });
    await sendExpecting(201, again.baseUrl, 'POST', '/checkout/confirm', { userId: 'after-restore', reservationId: hold.body.data.reservationId });
    assert.equal((await again.stop('SIGTERM')).code, 0);
    await assertBooksBalance(restored.url);
  } finally {
    await cleanups.run();
  }
});
