import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { expectStatus, freePort, meaningfulLines, runNode, serverEnv, startServer, tempDir } from './server-process.js';


const BAD_VALUES: ReadonlyArray<[variable: string, value: string]> = [
  ['RESERVATION_TTL', 'abc'],
  ['PORT', '70000'],
  ['DATABASE_URL', 'mysql://x'],
  ['SQLITE_SYNCHRONOUS', 'off'],
  ['LOG_LEVEL', 'loud'],
];

test('a bad configuration value stops start-up with one line naming the variable', { concurrency: true, timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  await Promise.all(
    BAD_VALUES.map(([variable, value]) =>
      t.test(`${variable}=${value}`, async (st) => {
        const env = serverEnv(port, `sqlite:${join(dir, `${variable}.db`)}`, { [variable]: value });
        const run = await runNode(st, 'src/server.ts', env);
        assert.equal(run.code, 1, `exit code\n${run.stderr}`);
        const lines = meaningfulLines(run.stderr);
        assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${run.stderr}`);
        assert.match(lines[0] as string, new RegExp(`\\b${variable}\\b`));
        assert.ok((lines[0] as string).includes(value), `the line quotes the bad value: ${lines[0]}`);
        assert.equal(run.stdout.trim(), '', 'nothing was served or logged');
      }),
    ),
  );
  // No case got as far as opening its database.
  for (const [variable] of BAD_VALUES) assert.equal(existsSync(join(dir, `${variable}.db`)), false);
});

test('the server creates the data folder and file', { timeout: 120_000 }, async (t) => {
  const file = join(tempDir(t), 'nested', 'dir', 'db.sqlite');
  assert.equal(existsSync(join(file, '..')), false);
  const server = await startServer(t, { databaseUrl: `sqlite:${file}` });
  assert.ok(statSync(file).isFile(), 'the database file exists');
  const { body } = await expectStatus(server.baseUrl, 'GET', '/inventory/LAPTOP001', 200);
  assert.equal(body.data.totalQuantity, 5, 'migrated and seeded into the new file');
});

test('npm run seed is an upsert: the second run changes nothing', { timeout: 120_000 }, async (t) => {
  const file = join(tempDir(t), 'fresh', 'seed.db');
  const env = { ...process.env, DATABASE_URL: `sqlite:${file}`, NODE_ENV: 'development' };

  const first = await runNode(t, 'src/cli/seed.ts', env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /\b8 inserted, 0 updated\b/);

  const second = await runNode(t, 'src/cli/seed.ts', env);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /\b0 inserted, 0 updated\b/);

  // On disk: the eight products with their table stock, each received exactly once.
  const db = new Database(file, { readonly: true });
  t.after(() => db.close());
  const products = db.prepare('SELECT sku, on_hand, reserved, sold FROM products ORDER BY sku').all();
  assert.deepEqual(products, [
    { sku: 'CAMERA001', on_hand: 3, reserved: 0, sold: 0 },
    { sku: 'CHARGER001', on_hand: 30, reserved: 0, sold: 0 },
    { sku: 'HEADSET001', on_hand: 20, reserved: 0, sold: 0 },
    { sku: 'LAPTOP001', on_hand: 5, reserved: 0, sold: 0 },
    { sku: 'PHONE001', on_hand: 10, reserved: 0, sold: 0 },
    { sku: 'SPEAKER001', on_hand: 25, reserved: 0, sold: 0 },
    { sku: 'TABLET001', on_hand: 8, reserved: 0, sold: 0 },
    { sku: 'WATCH001', on_hand: 15, reserved: 0, sold: 0 },
  ]);
  const receipts = db.prepare("SELECT COUNT(*) FROM stock_movements WHERE reason = 'RECEIVE'").pluck().get();
  assert.equal(receipts, 8);
});
