// `npm pack` gives a package that serves with `npx stockhold serve` from an empty folder.
//
// A full `npm install <tarball>` into an empty folder was checked by hand: it works, but takes
// minutes here (better-sqlite3 compiles from source without network to its prebuilt binaries),
// too slow for npm test. So this test installs the packed tarball the way npm lays it out
// (node_modules/stockhold and node_modules/.bin/stockhold) and gives it the dependencies the
// lockfile pins, linked from this checkout: what it proves is that the package holds
// everything it needs to serve, and that its bin runs from an installed layout.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, ROOT, tempDir } from '../process/server-process.js';

const run = promisify(execFile);

test('the packed package serves with npx stockhold serve from an empty folder, and stops on SIGTERM', async (t) => {
  const dir = tempDir(t, 'stockhold-pack-');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 60_000 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(packed, stdout);
  const files = packed.files.map((f) => f.path);
  for (const needed of ['bin/stockhold.mjs', 'src/server.ts', 'src/cli/main.ts', 'src/storage/sqlite/migrations/001_init.sql', '.env.example']) {
    assert.ok(files.includes(needed), `the package holds ${needed}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('bench/')), 'no tests or benchmarks in the package');

  const app = join(dir, 'app');
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'stockhold'), { recursive: true });
  writeFileSync(join(app, 'package.json'), '{"name":"empty","private":true}\n');
  await run('tar', ['xzf', join(dir, packed.filename), '-C', join(modules, 'stockhold'), '--strip-components=1']);
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === '.bin' || name.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  mkdirSync(join(modules, '.bin'));
  symlinkSync('../stockhold/bin/stockhold.mjs', join(modules, '.bin', 'stockhold'));

  const port = await freePort();
  const env = { ...process.env, PORT: String(port), DATABASE_URL: 'sqlite:./data/app.db', RATE_LIMIT_MAX: '0', LOG_LEVEL: 'info' };
  // Its own process group, so the test can signal it as a terminal's Ctrl-C would: npx runs the
  // bin through a shell, which does not pass a signal on (supervisors run the bin itself).
  const server = spawn('npx', ['--offline', 'stockhold', 'serve'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  server.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  server.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => server.once('close', (code) => resolve(code)));
  const group = -(server.pid as number);
  t.after(() => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 100))) {
    assert.ok(Date.now() < deadline, `serving within 30 s:\n${output}`);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
    if (res?.status === 200) break;
  }
  const res = await fetch(`http://127.0.0.1:${port}/inventory/LAPTOP001`);
  assert.equal(res.status, 200, 'migrated and seeded into ./data of the empty folder');
  process.kill(group, 'SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
  assert.notEqual(code, 'timeout', output);
  assert.match(output, /"msg":"shut down cleanly"/);
});
