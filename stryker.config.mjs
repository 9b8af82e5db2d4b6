// Mutation testing of the modules that hold the business rules (npm run mutate; see
// docs/RELIABILITY.md). Not part of npm test: a run takes a long time.
//
// The two lists below are the only things to update when code moves: what is mutated (files, or
// `file:startLine-endLine`, the functions that hold a rule; in the adapters, only the checks on the
// guarded statements' results) and which fast suites judge the mutants. The store is TEST_STORE's
// (scripts/mutate.mjs runs SQLite, then PostgreSQL when TEST_DATABASE_URL is set).

const store = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** The rule-bearing code. */
const MUTATE = [
  'src/services/reservation.service.ts:65-135', // reserve, reserveAlone
  'src/services/reservation.service.ts:204-262', // purchase limits, get, cancel
  'src/services/reserve-batcher.ts:226-315', // a batch's per-user rules and its shares
  'src/services/sold-out-cache.ts',
  'src/services/checkout.service.ts:34-173', // confirm, cancel, cancelOrder
  'src/services/checkout.service.ts:190-215', // recordPayment
  'src/services/reservation-lifecycle.ts:16-95', // the reservation's moves and expiry
  'src/services/idempotency.service.ts:27-78',
  'src/http/idempotency.ts:37-98',
];

/** Per adapter: the checks on its guarded statements' results (holds, moves, idempotency claims). */
const ADAPTER = {
  sqlite: [
    'src/storage/sqlite/sqlite-store.ts:430-431',
    'src/storage/sqlite/sqlite-store.ts:440-449',
    'src/storage/sqlite/sqlite-store.ts:530-532',
    'src/storage/sqlite/sqlite-store.ts:557-559',
    'src/storage/sqlite/sqlite-store.ts:566-568',
  ],
  postgres: [
    'src/storage/postgres/pg-store.ts:383-385',
    'src/storage/postgres/pg-store.ts:405-413',
    'src/storage/postgres/pg-store.ts:487-489',
    'src/storage/postgres/pg-store.ts:519-521',
    'src/storage/postgres/pg-store.ts:528-533',
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
