// Mutation testing of the modules that hold the business rules (npm run mutate; see
// docs/RELIABILITY.md). Not part of npm test: a run takes a long time.
//
// The two lists below are the only things to update when code moves: what is mutated (files, or
// `file:startLine-endLine`: in the adapters, only the guarded statements and the checks on their
// results) and which fast suites judge the mutants. The store is TEST_STORE's
// (scripts/mutate.mjs runs SQLite, then PostgreSQL when TEST_DATABASE_URL is set).

const store = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** The rule-bearing code. */
const MUTATE = [
  'src/services/reserve-policy.ts',
  'src/services/reservation.service.ts',
  'src/services/reserve-batcher.ts',
  'src/services/sold-out-cache.ts',
  'src/services/checkout.service.ts',
  'src/services/reservation-lifecycle.ts',
  'src/services/idempotency.service.ts',
  'src/http/idempotency.ts',
];

/** Per adapter: the guarded statements and the checks on their results (holds, moves, idempotency claims). */
const ADAPTER = {
  sqlite: [
    'src/storage/sqlite/sqlite-repositories.ts:88-108', // hold, holdBatch
    'src/storage/sqlite/sqlite-repositories.ts:162-164', // reservations.move
    'src/storage/sqlite/sqlite-repositories.ts:197-199', // orders.move
    'src/storage/sqlite/sqlite-repositories.ts:209-211', // idempotency claim
  ],
  postgres: [
    'src/storage/postgres/pg-repositories.ts:95-113', // hold, holdBatch
    'src/storage/postgres/pg-repositories.ts:177-179', // reservations.move
    'src/storage/postgres/pg-repositories.ts:186-190', // shoppers.lock
    'src/storage/postgres/pg-repositories.ts:231-233', // orders.move
    'src/storage/postgres/pg-repositories.ts:243-249', // idempotency claim
  ],
};

/** The fast suites that exercise those rules, in process (no child servers). */
const TEST_FILES = [
  'test/http/checkout.routes.test.ts',
  'test/http/concurrency.test.ts',
  'test/http/idempotency.test.ts',
  'test/http/purchase-limit.test.ts',
  'test/http/races.test.ts',
  'test/http/reservation.routes.test.ts',
  'test/services/idempotency.service.test.ts',
  'test/services/reservation-expiry.test.ts',
  'test/services/reserve-policy.test.ts',
  'test/services/reserve-batcher.test.ts',
  'test/services/sold-out-cache.test.ts',
  'test/services/sold-out.test.ts',
];

// MUTATE and MUTATE_TEST_FILES (comma-separated) narrow a run to part of either list.
const only = (process.env.MUTATE_TEST_FILES ?? '').split(',').filter(Boolean);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: {
    testFiles: only.length > 0 ? only : TEST_FILES,
    nodeArgs: ['-r', '{{hookFile}}', '--import', 'tsx', '--test-reporter=tap'],
  },
  mutate: process.env.MUTATE ? process.env.MUTATE.split(',') : [...MUTATE, ...ADAPTER[store]],
  // Log and error-message wording is not a rule; every other mutator runs.
  mutator: { excludedMutations: ['StringLiteral'] },
  coverageAnalysis: 'perTest',
  // Module-level constants would run every suite for each mutant; the limits they hold are tested directly.
  ignoreStatic: true,
  // The machine is shared and the suites run concurrent transactions of their own.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${store}.json` },
  htmlReporter: { fileName: `reports/mutation/${store}.html` },
  tempDirName: `.stryker-tmp-${store}`,
  cleanTempDir: 'always',
};
