#!/usr/bin/env node
// npm run mutate: Stryker over the rule-bearing code (stryker.config.mjs names it) against the fast
// suites, on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set. Arguments go to `stryker run`.
// Reports land in reports/mutation/<store>.{html,json}. See docs/RELIABILITY.md.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const stryker = join(dirname(require.resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
const stores = process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

let status = 0;
for (const store of stores) {
  process.stdout.write(`\n# mutation testing on ${store}\n\n`);
  const result = spawnSync(process.execPath, [stryker, 'run', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_STORE: store },
  });
  status = status || (result.status ?? 1);
}
if (stores.length === 1) process.stdout.write('\n# PostgreSQL mutation run skipped: TEST_DATABASE_URL is not set\n');
process.exit(status);
