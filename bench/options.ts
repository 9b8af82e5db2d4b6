// Command-line flags of `npm run bench`.

export const SCENARIOS = ['ceiling', 'hot-sku', 'spread', 'sold-out', 'checkout', 'reads', 'half-rate', 'naive-baseline', 'growth'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const STORES = ['sqlite-full', 'sqlite-normal', 'pg-1', 'pg-workers2'] as const;
export type StoreName = (typeof STORES)[number];

export interface BenchOptions {
  /** Measured seconds per scenario. */
  durationS: number;
  /** Unmeasured seconds before each scenario. */
  warmupS: number;
  connections: number;
  pipelining: number;
  only: ReadonlySet<ScenarioName>;
  /** --only was given: a scenario it names runs even without the store it usually goes with. */
  onlyGiven: boolean;
  stores: readonly StoreName[];
  /** Admin URL of a PostgreSQL server; the bench creates and drops its own database there. */
  pgUrl: string;
  /** Configurations the growth scenario runs on. */
  growthStores: readonly StoreName[];
  /** Historic reservations written before the growth scenario's second pass. */
  growthRows: number;
  /** Due reservations the sweeper has to expire in the growth scenario; null: 20,000 on SQLite, 2,000 on PostgreSQL. */
  sweepReservations: number | null;
  quick: boolean;
}

export const USAGE = `usage: npm run bench -- [flags]
  --duration=<s>        measured seconds per scenario (default 10)
  --warmup=<s>          unmeasured warm-up seconds before each scenario (default 3)
  --connections=<n>     autocannon connections (default 50)
  --pipelining=<n>      autocannon pipelining (default 1)
  --quick               --duration=2 --warmup=1 (flags given after it still win)
  --only=<a,b,...>      scenarios: ${SCENARIOS.join(', ')}
  --stores=<a,b,...>    configurations: ${STORES.join(', ')}
  --pg-url=<url>        PostgreSQL admin URL (default $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/test)
  --growth-stores=<a,..> configurations for the growth scenario (default sqlite-full,pg-1 of those in --stores)
  --growth-rows=<n>     historic reservations for the growth scenario (default 1000000)
  --sweep=<n>           due reservations the sweeper expires in the growth scenario
                        (default 20000 on SQLite, 2000 on PostgreSQL)`;

function positive(name: string, raw: string, allowZero = false): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new Error(`--${name}: expected a positive number, got "${raw}"`);
  return value;
}

function list<T extends string>(name: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new Error(`--${name}: unknown "${item}"; expected one of ${allowed.join(', ')}`);
  }
  return items as T[];
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const options: BenchOptions = {
    durationS: 10,
    warmupS: 3,
    connections: 50,
    pipelining: 1,
    only: new Set(SCENARIOS),
    onlyGiven: false,
    stores: [...STORES],
    pgUrl: env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    growthStores: ['sqlite-full', 'pg-1'],
    growthRows: 1_000_000,
    sweepReservations: null,
    quick: false,
  };
  let growthStoresGiven = false;
  for (const arg of argv) {
    const [flag, value = ''] = arg.split(/=(.*)/s, 2) as [string, string?];
    switch (flag) {
      case '--quick':
        options.quick = true;
        options.durationS = 2;
        options.warmupS = 1;
        break;
      case '--duration': options.durationS = positive('duration', value); break;
      case '--warmup': options.warmupS = positive('warmup', value, true); break;
      case '--connections': options.connections = Math.round(positive('connections', value)); break;
      case '--pipelining': options.pipelining = Math.round(positive('pipelining', value)); break;
      case '--only':
        options.only = new Set(list('only', value, SCENARIOS));
        options.onlyGiven = true;
        break;
      case '--stores': options.stores = list('stores', value, STORES); break;
      case '--pg-url': options.pgUrl = value; break;
      case '--growth-stores': options.growthStores = list('growth-stores', value, STORES); growthStoresGiven = true; break;
      case '--growth-rows': options.growthRows = Math.round(positive('growth-rows', value, true)); break;
      case '--sweep': options.sweepReservations = Math.round(positive('sweep', value)); break;
      default:
        throw new Error(`unknown flag "${arg}"\n${USAGE}`);
    }
  }
  // Growth follows --stores unless --growth-stores says otherwise.
  if (!growthStoresGiven) options.growthStores = options.growthStores.filter((s) => options.stores.includes(s));
  return options;
}
