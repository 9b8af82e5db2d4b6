import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainEvents } from '../../src/domain/events.js';
import { BackupJob, backupFileName } from '../../src/jobs/backup-job.js';
import { InventoryService } from '../../src/services/inventory.service.js';
import { ReconciliationService } from '../../src/services/reconciliation.service.js';
import { integrityCheck } from '../../src/storage/sqlite/restore.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

const quiet = { info: () => undefined, error: () => undefined };

function setUp(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-backup-job-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore({ filename: join(dir, 'live.db') });
  t.after(() => store.close());
  const clock = new ManualClock();
  const inventory = new InventoryService({ store, clock, events: new DomainEvents() });
  return { dir, store, clock, inventory, backups: join(dir, 'backups') };
}

const countProducts = (file: string): number => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM products').pluck().get() as number;
  } finally {
    db.close();
  }
};

test('each run writes a copy named by its time and keeps only the newest BACKUP_KEEP', async (t) => {
  const { store, clock, inventory, backups } = setUp(t);
  const job = new BackupJob({ takeBackup: (to) => store.backup(to), dir: backups, intervalMs: 60_000, keep: 2, clock, logger: quiet });
  writeFileSync(join(backups, 'notes.txt'), 'not a backup: never deleted');
  assert.equal(job.newestBackupAt(), null);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await inventory.create({ sku: `JOB-${i}`, productName: 'Backed up', onHand: 5, priceMinor: 100, maxPerUser: null });
    times.push(clock.now());
    const report = await job.runOnce();
    assert.equal(report.file, join(backups, backupFileName(clock.now())));
    assert.equal(job.newestBackupAt(), clock.now());
    clock.advance(3_600_000);
  }
  assert.deepEqual(readdirSync(backups).sort(), ['notes.txt', ...times.slice(1).map(backupFileName)].sort());
  const newest = join(backups, backupFileName(times[2] as number));
  assert.deepEqual(integrityCheck(newest), ['ok']);
  assert.equal(countProducts(newest), 3);
  assert.equal(countProducts(join(backups, backupFileName(times[1] as number))), 2);
});

test('a backup taken from the serving connection while transactions commit holds every one committed before it began', async (t) => {
  const { store, clock, inventory, backups } = setUp(t);
  // Enough pages that the copy takes many steps, with commits landing between them.
  for (let i = 0; i < 400; i++) {
    await inventory.create({ sku: `BULK-${i}`, productName: 'x'.repeat(2_000), onHand: 5, priceMinor: 100, maxPerUser: null });
  }
  const job = new BackupJob({ takeBackup: (to) => store.backup(to), dir: backups, intervalMs: 60_000, keep: 5, clock, logger: quiet });
  let writing = true;
  let committed = 400;
  const writer = (async () => {
    for (let i = 0; writing && i < 5_000; i++) {
      await inventory.create({ sku: `LATE-${i}`, productName: 'during the backup', onHand: 1, priceMinor: 1, maxPerUser: null });
      committed++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const before = committed;
  const report = await job.runOnce();
  writing = false;
  await writer;
  assert.deepEqual(integrityCheck(report.file), ['ok']);
  const copied = countProducts(report.file);
  assert.ok(copied >= before && copied <= committed, `the copy holds ${copied} products: at least the ${before} committed before it began, at most the ${committed} committed by its end`);
  assert.ok(committed > before, 'writes committed while the backup ran');
  const copy = new SqliteStore({ filename: report.file });
  try {
    const check = await new ReconciliationService({ store: copy, clock, events: new DomainEvents() }).check();
    assert.deepEqual(check.drifts, []);
  } finally {
    await copy.close();
  }
});

test('a failed backup leaves no partial file and the job keeps its schedule', async (t) => {
  const { store, clock, backups } = setUp(t);
  const errors: unknown[] = [];
  const job = new BackupJob({
    takeBackup: (to) => store.backup(join(to, 'no-such-folder', 'x.db')),
    dir: backups,
    intervalMs: 60_000,
    keep: 5,
    clock,
    logger: { info: () => undefined, error: (details) => errors.push(details) },
  });
  await assert.rejects(job.runOnce());
  assert.deepEqual(readdirSync(backups), []);
  assert.equal(job.newestBackupAt(), null);
});
