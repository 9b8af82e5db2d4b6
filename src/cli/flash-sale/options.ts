// Command-line options of `npm run flash-sale`.
import { isValidSku, normaliseSku } from '../../domain/sku.js';

export interface ThinkRange {
  min: number;
  max: number;
}

export interface FlashSaleOptions {
  /** Base URL of the deployment, without a trailing slash. */
  url: string;
  /** Upper-cased, as the service stores it. */
  sku: string;
  users: number;
  /** Shoppers in flight at once (reserving, thinking or deciding). */
  concurrency: number;
  thinkMs: ThinkRange;
  /** Share of shoppers who confirm, 0 to 1. */
  confirm: number;
  /** Share of shoppers who cancel, 0 to 1; the rest abandon. */
  cancel: number;
  seed: number;
  /** Send an Idempotency-Key with every POST. */
  idempotency: boolean;
  json: boolean;
  /** After the run, poll the product until the abandoned holds have expired. */
  waitExpiry: boolean;
  /** Per-attempt HTTP timeout. */
  timeoutMs: number;
  help: boolean;
}

export const DEFAULTS = {
  users: 1000,
  concurrency: 200,
  thinkMs: { min: 200, max: 2000 },
  confirm: 0.6,
  cancel: 0.2,
  seed: 1,
  idempotency: true,
  json: false,
  waitExpiry: false,
  timeoutMs: 10_000,
  help: false,
} as const;

export const USAGE = `usage: npm run flash-sale -- --url <base url> --sku <sku> [options]

Simulates a flash sale against a running stockhold: each shopper reserves 1 unit, thinks,
then confirms, cancels or abandons (the hold then expires on its own). Ends with a report.

  --url <url>            base URL of the deployment, e.g. http://127.0.0.1:5000 (required)
  --sku <sku>            the product on sale (required)
  --users <n>            shoppers in the run (default ${DEFAULTS.users})
  --concurrency <n>      most shoppers in flight at once (default ${DEFAULTS.concurrency})
  --think-ms <a-b>       think time between reserve and decision, uniformly random in
                         a..b ms; a single number is a fixed time (default ${DEFAULTS.thinkMs.min}-${DEFAULTS.thinkMs.max})
  --confirm <share>      share of shoppers who confirm, 0 to 1 (default ${DEFAULTS.confirm})
  --cancel <share>       share of shoppers who cancel, 0 to 1 (default ${DEFAULTS.cancel}); the rest abandon.
                         Given alone, one share lowers the other's default to fit: --confirm 1 means no cancels
  --seed <n>             seed for think times and choices, so runs are reproducible (default ${DEFAULTS.seed})
  --idempotency / --no-idempotency
                         send an Idempotency-Key with every POST (default on)
  --wait-expiry          after the run, wait until the abandoned holds have expired
                         (at most their TTL + 30 s) and count them as expired
  --timeout-ms <n>       per-request timeout; a timed-out request is retried (default ${DEFAULTS.timeoutMs})
  --json                 print the report as JSON on stdout, and no progress
  --help                 show this help

Exit status: 0 when nothing was oversold and the product's counters are consistent,
1 otherwise (or when the deployment cannot be read), 2 for bad usage.`;

/** A bad command line; the message starts with the option at fault. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const VALUE_FLAGS = ['url', 'sku', 'users', 'concurrency', 'think-ms', 'confirm', 'cancel', 'seed', 'timeout-ms'] as const;
const BOOLEAN_FLAGS = ['idempotency', 'json', 'wait-expiry', 'help'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
type BooleanFlag = (typeof BOOLEAN_FLAGS)[number];

const isValueFlag = (name: string): name is ValueFlag => (VALUE_FLAGS as readonly string[]).includes(name);
const isBooleanFlag = (name: string): name is BooleanFlag => (BOOLEAN_FLAGS as readonly string[]).includes(name);

function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`--${flag}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function share(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`--${flag}: expected a share from 0 to 1 (e.g. 0.6), got "${raw}"`);
  }
  return value;
}

const MAX_THINK_MS = 600_000;

function thinkRange(raw: string): ThinkRange {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(raw);
  const min = Number(match?.[1]);
  const max = match?.[2] === undefined ? min : Number(match[2]);
  if (!match || min > max || max > MAX_THINK_MS) {
    throw new UsageError(`--think-ms: expected a range like 200-2000 (ms, low to high, at most ${MAX_THINK_MS}), got "${raw}"`);
  }
  return { min, max };
}

function booleanValue(flag: string, raw: string): boolean {
  const value = raw.toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(value)) return true;
  if (['false', 'off', 'no', '0'].includes(value)) return false;
  throw new UsageError(`--${flag}: expected on or off, got "${raw}"`);
}

function baseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url: expected an http:// or https:// URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url: expected an http:// or https:// URL, got "${raw}"`);
  }
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--url: expected a base URL without ?query or #fragment, got "${raw}"`);
  return url.href.replace(/\/+$/, '');
}

/** Parses argv (without node and the script). Accepts `--flag value` and `--flag=value`. Throws UsageError. */
export function parseOptions(argv: readonly string[]): FlashSaleOptions {
  const raw = new Map<ValueFlag, string>();
  const flags = new Map<BooleanFlag, boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') {
      flags.set('help', true);
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument "${arg}"; options start with --`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (isValueFlag(name)) {
      let value = inline;
      if (value === undefined) {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name}: missing value`);
        value = next;
        i++;
      }
      raw.set(name, value);
    } else if (isBooleanFlag(name)) {
      flags.set(name, inline === undefined ? true : booleanValue(name, inline));
    } else if (name === 'no-idempotency' && inline === undefined) {
      flags.set('idempotency', false);
    } else {
      throw new UsageError(`--${name}: unknown option (see --help)`);
    }
  }

  const options: FlashSaleOptions = {
    url: '',
    sku: '',
    users: DEFAULTS.users,
    concurrency: DEFAULTS.concurrency,
    thinkMs: { ...DEFAULTS.thinkMs },
    confirm: DEFAULTS.confirm,
    cancel: DEFAULTS.cancel,
    seed: DEFAULTS.seed,
    idempotency: flags.get('idempotency') ?? DEFAULTS.idempotency,
    json: flags.get('json') ?? DEFAULTS.json,
    waitExpiry: flags.get('wait-expiry') ?? DEFAULTS.waitExpiry,
    timeoutMs: DEFAULTS.timeoutMs,
    help: flags.get('help') ?? DEFAULTS.help,
  };
  if (options.help) return options;

  const url = raw.get('url');
  if (url === undefined) throw new UsageError('--url: required, e.g. --url http://127.0.0.1:5000');
  options.url = baseUrl(url);
  const sku = raw.get('sku');
  if (sku === undefined) throw new UsageError('--sku: required, e.g. --sku CAMERA001');
  options.sku = normaliseSku(sku);
  if (!isValidSku(options.sku)) throw new UsageError(`--sku: expected letters, digits, _ and - (at most 64), got "${sku}"`);

  for (const [flag, value] of raw) {
    switch (flag) {
      case 'users': options.users = wholeNumber(flag, value, 1, 10_000_000); break;
      case 'concurrency': options.concurrency = wholeNumber(flag, value, 1, 10_000); break;
      case 'think-ms': options.thinkMs = thinkRange(value); break;
      case 'confirm': options.confirm = share(flag, value); break;
      case 'cancel': options.cancel = share(flag, value); break;
      case 'seed': options.seed = wholeNumber(flag, value, 0, 2 ** 32 - 1); break;
      case 'timeout-ms': options.timeoutMs = wholeNumber(flag, value, 1, 600_000); break;
      case 'url':
      case 'sku':
        break;
    }
  }
  // Given alone, one share squeezes the other's default: --confirm 1 means nobody cancels.
  if (raw.has('confirm') && !raw.has('cancel')) options.cancel = Math.min(options.cancel, Math.max(0, 1 - options.confirm));
  if (raw.has('cancel') && !raw.has('confirm')) options.confirm = Math.min(options.confirm, Math.max(0, 1 - options.cancel));
  if (options.confirm + options.cancel > 1 + 1e-9) {
    throw new UsageError(`--confirm, --cancel: the shares add up to ${+(options.confirm + options.cancel).toFixed(6)}; they must not exceed 1`);
  }
  return options;
}
