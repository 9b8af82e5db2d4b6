// `npm run torture`: the Jepsen-style run from the command line. See docs/RELIABILITY.md.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatSummary } from './summary.js';
import { DEFAULTS, runTorture, type TortureOptions } from './torture.js';

const USAGE = `usage: npm run torture -- [--duration <s>] [--kills <n>] [--seed <n>] [--store sqlite|postgres]
                              [--database-url <postgres://...>] [--instances <n>] [--users <n>] [--ttl <ms>]
exits 0 when every check holds, 1 on a violation, 2 on bad usage or when the run itself could not be done`;

class UsageError extends Error {}

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name}: expected a whole number >= ${min}, got "${value}"`);
  return n;
}

function parseOptions(argv: string[]): TortureOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      kills: { type: 'string' },
      seed: { type: 'string' },
      store: { type: 'string' },
      'database-url': { type: 'string' },
      instances: { type: 'string' },
      users: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const store = values.store ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'postgres') throw new UsageError(`--store: expected sqlite or postgres, got "${store}"`);
  const postgresUrl = values['database-url'] ?? process.env.TEST_DATABASE_URL;
  if (store === 'postgres' && !postgresUrl) throw new UsageError('--store postgres needs --database-url or TEST_DATABASE_URL');
  const instances = wholeNumber('instances', values.instances, store === 'postgres' ? DEFAULTS.instances : 1, 1);
  if (store === 'sqlite' && instances !== 1) throw new UsageError('--instances: SQLite is one process; several instances need --store postgres');
  return {
    store,
    durationMs: wholeNumber('duration', values.duration, DEFAULTS.durationMs / 1000, 1) * 1000,
    kills: wholeNumber('kills', values.kills, DEFAULTS.kills, 1),
    // A fresh seed unless given; printed either way, so any run can be replayed.
    seed: wholeNumber('seed', values.seed, randomInt(1, 2 ** 31), 0),
    instances,
    ...(postgresUrl ? { postgresUrl } : {}),
    users: wholeNumber('users', values.users, DEFAULTS.users, 1),
    ttlMs: wholeNumber('ttl', values.ttl, DEFAULTS.ttlMs, 1),
    cleanupIntervalMs: DEFAULTS.cleanupIntervalMs,
    log: (line) => process.stderr.write(`torture: ${line}\n`),
  };
}

async function main(): Promise<number> {
  let options: TortureOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`torture: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  process.stderr.write(`torture: seed ${options.seed}, ${options.store}, ${options.durationMs / 1000} s, ${options.kills} kills\n`);
  const result = await runTorture(options);
  process.stdout.write(`${formatSummary(result)}\n`);
  return result.report.violations.length === 0 ? 0 : 1;
}

main().then(
  (status) => process.exit(status),
  (err: unknown) => {
    console.error(`torture: the run could not be done: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
