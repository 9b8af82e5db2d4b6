#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner, TypeScript loaded through tsx.
// The suites that go through the Store port then run a second time on PostgreSQL, chosen by
// TEST_STORE, when TEST_DATABASE_URL names one. Node 20's --test does not expand globs, so the
// files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

// A hang must end as a failure with a name, not stall the run. Node 20 applies --test-timeout to
// each test file as a whole: the file fails, named, once it has run this long. Tests that wait for
// an event or a process also set their own, shorter timeout, which names the test. The flag
// exists from Node 20.11; engines allow 20.10, which runs without it.
const DEFAULT_TIMEOUT_MS = 600_000;
const [major, minor] = process.versions.node.split('.').map(Number);
const timeoutFlag = major > 20 || minor >= 11 ? [`--test-timeout=${DEFAULT_TIMEOUT_MS}`] : [];

function run(files, env) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...timeoutFlag, ...files],
    { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', ...env } },
  );
  return result.status ?? 1;
}

const only = process.argv.slice(2);
if (only.length > 0) process.exit(run(only, {}));

const all = findTests('test').sort();
const storeSuites = all.filter((file) => /^test[/\\](http|services)[/\\]/.test(file));
// The reserve fast paths must not change an answer: these suites run again with them off.
const fastPathSuites = all.filter((file) => /^test[/\\](model[/\\]reservation-model|http[/\\]concurrency)\.test\.ts$/.test(file));

let status = run(all, { TEST_STORE: 'sqlite' });
process.stdout.write(`\n# the model-based and concurrency suites again, with RESERVE_FAST_PATHS=off (${fastPathSuites.length} files)\n\n`);
status = run(fastPathSuites, { TEST_STORE: 'sqlite', RESERVE_FAST_PATHS: 'off' }) || status;
if (process.env.TEST_DATABASE_URL) {
  process.stdout.write(`\n# the same HTTP and service suites again, on PostgreSQL (${storeSuites.length} files)\n\n`);
  status = run(storeSuites, { TEST_STORE: 'postgres' }) || status;
  const pgFastPathSuites = fastPathSuites.filter((file) => storeSuites.includes(file));
  process.stdout.write(`\n# on PostgreSQL with RESERVE_FAST_PATHS=off (${pgFastPathSuites.length} files)\n\n`);
  status = run(pgFastPathSuites, { TEST_STORE: 'postgres', RESERVE_FAST_PATHS: 'off' }) || status;
} else {
  process.stdout.write('\n# PostgreSQL tests skipped: TEST_DATABASE_URL is not set (.ci/run sets it)\n');
}
process.exit(status);
