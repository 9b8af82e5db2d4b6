import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.js';
import { readSchemaStatus } from '../storage/schema-status.js';

/** A clock further than this from the database's makes reservations expire early or late. */
const MAX_CLOCK_SKEW_MS = 1_000;
const REDIS_TIMEOUT_MS = 3_000;

type Line = (text: string) => void;
type Check = { name: string; run(): Promise<string> };

const mask = (url: string): string => url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');

/** The configuration as the server would use it, one `key = value` line each, secrets masked. */
function describeConfig(config: Readonly<Config>): string[] {
  const { database: _database, auth, rateLimit, ops, ...rest } = config;
  const shown: Record<string, unknown> = {
    ...rest,
    database: config.databaseUrlForLogs,
    'auth.mode': auth.mode,
    ...(auth.mode === 'jwt' ? { 'auth.key': `${auth.key.kind} (***)`, 'auth.issuer': auth.issuer, 'auth.audience': auth.audience } : {}),
    'rateLimit.max': rateLimit.max,
    'rateLimit.windowMs': rateLimit.windowMs,
    'rateLimit.reserveMax': rateLimit.reserveMax,
    'rateLimit.redisUrl': rateLimit.redisUrl === undefined ? undefined : mask(rateLimit.redisUrl),
    ...Object.fromEntries(Object.entries(ops).map(([k, v]) => [`ops.${k}`, k === 'metricsToken' && v !== undefined ? '***' : v])),
  };
  delete shown.databaseUrlForLogs;
  return Object.entries(shown).map(([key, value]) => `config  ${key} = ${value === undefined ? '(unset)' : JSON.stringify(value)}`);
}

function checks(config: Readonly<Config>): Check[] {
  let serverNowMs: number | undefined;
  const list: Check[] = [
    {
      name: 'store',
      async run() {
        const status = await readSchemaStatus(config.database);
        serverNowMs = status.serverNowMs;
        if (status.applied < status.latest) throw new Error(`schema version ${status.applied}, this version needs ${status.latest}: run stockhold migrate`);
        if (status.applied > status.latest) throw new Error(`schema version ${status.applied} is newer than this version knows (${status.latest})`);
        return `${config.databaseUrlForLogs} answers; schema version ${status.applied} of ${status.latest}`;
      },
    },
  ];
  const redisUrl = config.rateLimit.redisUrl;
  if (redisUrl !== undefined) {
    list.push({
      name: 'redis',
      async run() {
        const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: REDIS_TIMEOUT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => undefined);
        try {
          await redis.connect();
          const started = performance.now();
          const pong = await redis.ping();
          return `${mask(redisUrl)} answers ${pong} in ${Math.round(performance.now() - started)} ms`;
        } finally {
          redis.disconnect();
        }
      },
    });
  }
  list.push({
    name: 'clock',
    async run() {
      const now = Date.now();
      if (new Date(now).getUTCFullYear() < 2024) throw new Error(`the system clock reads ${new Date(now).toISOString()}`);
      if (serverNowMs === undefined) return `system clock ${new Date(now).toISOString()}`;
      const skew = now - serverNowMs;
      if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) throw new Error(`this machine is ${skew} ms from the database server's clock (more than ${MAX_CLOCK_SKEW_MS})`);
      return `system clock ${new Date(now).toISOString()}, ${skew} ms from the database server`;
    },
  });
  return list;
}

/** `stockhold doctor`: one line per check; returns the exit status (0 all passed, 1 one failed). */
export async function runDoctor(env: NodeJS.ProcessEnv, print: Line): Promise<number> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(env);
  } catch (err) {
    print(`FAIL  config  ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  for (const line of describeConfig(config)) print(line);
  print('ok    config  parsed');
  let failed = 0;
  for (const check of checks(config)) {
    try {
      print(`ok    ${check.name.padEnd(6)}  ${await check.run()}`);
    } catch (err) {
      failed++;
      print(`FAIL  ${check.name.padEnd(6)}  ${(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')}`);
    }
  }
  return failed === 0 ? 0 : 1;
}
