import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseAuth, type AuthConfig } from './config-auth.js';
import { parseBackupConfig, parseTlsConfig, type BackupConfig, type TlsConfig } from './config-operations.js';

export type { AuthConfig, JwtKey } from './config-auth.js';

export type DatabaseConfig = { kind: 'sqlite'; filename: string } | { kind: 'postgres'; url: string };

export interface Config {
  port: number;
  host: string;
  database: DatabaseConfig;
  /** The URL as given, for logs; postgres passwords are masked. */
  databaseUrlForLogs: string;
  reservationTtlMs: number;
  cleanupIntervalMs: number;
  nodeEnv: string;
  logLevel: LogLevel;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** PostgreSQL connections per process. */
  databasePoolSize: number;
  /** Processes sharing the port (node:cluster); more than one needs PostgreSQL. */
  workers: number;
  /** A whole request, headers and body, must arrive within this (slow-body clients are cut off). */
  requestTimeoutMs: number;
  /** The headers must arrive within this (slow-header clients are cut off). */
  headersTimeoutMs: number;
  /** Open connections allowed per process; more are refused at accept. */
  maxConnections: number;
  /** Open connections allowed per client address (not for trusted proxies); more are refused at accept. */
  maxConnectionsPerClient: number;
  /** An idle kept-alive connection is closed after this long without a new request. */
  keepAliveTimeoutMs: number;
  /** Browser origins allowed by CORS; empty: no CORS headers, browsers on other origins are refused. */
  corsOrigins: readonly string[];
  /** What start-up does when counters drifted from the ledger, reservations and orders. */
  startupCheck: StartupCheck;
  /** The reserve fast paths (batched one-line reserves, the sold-out hint), on or off together. */
  reserveFastPaths: boolean;
  /** Who may call: off (development only) or verified Bearer JWTs. */
  auth: AuthConfig;
  /** Request caps per client (principal, or IP when anonymous). */
  rateLimit: RateLimitConfig;
  /** Which proxies' X-Forwarded-For to believe when taking the client IP (Fastify's trustProxy). */
  trustProxy: TrustProxy;
  /** Operating the process: drain deadline, access log, metrics. */
  ops: OpsConfig;
  /** Scheduled online backups of the SQLite store (BACKUP_DIR, BACKUP_INTERVAL, BACKUP_KEEP). */
  backup: BackupConfig;
  /** HTTPS served directly (TLS_CERT_FILE, TLS_KEY_FILE); off: plain HTTP, for a proxy to terminate TLS. */
  tls: TlsConfig;
}

export interface OpsConfig {
  /** How long a drain may take after SIGTERM/SIGINT before the process exits anyway (1). */
  shutdownTimeoutMs: number;
  /** One info line per request; off for benchmarks. */
  accessLog: boolean;
  /** GET /metrics and the collectors behind it. */
  metrics: boolean;
  /** At most this many SKUs get per-SKU stock gauges, so the series count stays bounded. */
  metricsSkuLimit: number;
  /** With AUTH_MODE=jwt: a bearer token that may read /metrics besides the admin role. */
  metricsToken: string | undefined;
}

const STARTUP_CHECKS = ['refuse', 'repair', 'off'] as const;
export type StartupCheck = (typeof STARTUP_CHECKS)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = 'sqlite:./data/stockhold.db';

/** Start-up configuration is wrong; the message names the variable and what it accepts. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export function parseDatabaseUrl(raw: string, cwd: string = process.cwd()): DatabaseConfig {
  if (raw === 'sqlite::memory:') return { kind: 'sqlite', filename: ':memory:' };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '' || path.startsWith('//')) {
      throw new ConfigError('DATABASE_URL', `expected sqlite:<file path> or sqlite::memory:, got "${raw}"`);
    }
    return { kind: 'sqlite', filename: resolve(cwd, path) };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) return { kind: 'postgres', url: raw };
  throw new ConfigError(
    'DATABASE_URL',
    `expected sqlite:<file path>, sqlite::memory: or postgres://..., got "${maskPassword(raw)}"`,
  );
}

function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const origins = raw.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '');
  const bad = origins.find((origin) => !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin));
  if (bad !== undefined) {
    throw new ConfigError('CORS_ORIGINS', `expected comma-separated origins like https://shop.example.com, got "${bad}"`);
  }
  return origins;
}

// ---- Rate limiting (RATE_LIMIT_*, RESERVE_RATE_LIMIT_MAX, TRUST_PROXY) ----

export interface RateLimitConfig {
  /** Requests per client per window on every route but /healthz and /openapi.json; 0 turns rate limiting off. */
  max: number;
  windowMs: number;
  /** POST /inventory/reserve per client per window, on top of `max`; 0: only `max` applies. */
  reserveMax: number;
  /** Counters in Redis, shared by every process and instance; undefined: each process counts alone. */
  redisUrl: string | undefined;
  /** Without Redis: distinct clients each limit keeps a counter for per window (bounds its memory). */
  localClients: number;
}

/**
 * false: the socket's address is the client; true: the left-most X-Forwarded-For (any caller can
 * forge it); a list: X-Forwarded-For is believed only from these proxies. Fastify 5 ignores hop
 * counts (they cannot vouch for the peer), so none is offered.
 */
export type TrustProxy = boolean | readonly string[];

function parseRateLimit(env: Env): RateLimitConfig {
  const redisUrl = read(env, 'RATE_LIMIT_REDIS_URL');
  if (redisUrl !== undefined && (!/^rediss?:\/\/[^/]/.test(redisUrl) || !URL.canParse(redisUrl))) {
    throw new ConfigError('RATE_LIMIT_REDIS_URL', `expected redis://host[:port][/db] or rediss://..., got "${redisUrl.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@')}"`);
  }
  return {
    max: integer(env, 'RATE_LIMIT_MAX', 1_200, 0, 100_000_000),
    windowMs: integer(env, 'RATE_LIMIT_WINDOW', 60_000, 1_000, 86_400_000),
    reserveMax: integer(env, 'RESERVE_RATE_LIMIT_MAX', 120, 0, 100_000_000),
    redisUrl,
    localClients: integer(env, 'RATE_LIMIT_LOCAL_CLIENTS', 100_000, 100, 10_000_000),
  };
}

// proxy-addr's names for the private ranges, accepted alongside addresses and CIDRs.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw.toLowerCase() === 'false') return false;
  if (raw.toLowerCase() === 'true') return true;
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const bad = entries.find((entry) => {
    if (PROXY_RANGE_NAMES.includes(entry)) return false;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return true;
    return prefix !== undefined && (!/^\d+$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128));
  });
  if (bad !== undefined || entries.length === 0) {
    throw new ConfigError(
      'TRUST_PROXY',
      `expected true, false, or comma-separated proxy addresses or CIDRs (10.0.0.0/8, loopback), got "${bad ?? raw}"`,
    );
  }
  return Object.freeze(entries);
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new ConfigError(name, `expected on or off, got "${raw}"`);
}

function parseOps(env: Env): OpsConfig {
  const metricsToken = read(env, 'METRICS_TOKEN');
  // It travels as a bearer token, so it takes that syntax (RFC 6750's token68).
  if (metricsToken !== undefined && (metricsToken.length < 16 || !/^[A-Za-z0-9_.~+/-]+=*$/.test(metricsToken))) {
    throw new ConfigError('METRICS_TOKEN', 'expected at least 16 characters of A-Z a-z 0-9 - . _ ~ + /');
  }
  return Object.freeze({
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT', 10_000, 100, 600_000),
    accessLog: onOff(env, 'ACCESS_LOG', true),
    metrics: onOff(env, 'METRICS', true),
    metricsSkuLimit: integer(env, 'METRICS_SKU_LIMIT', 1_000, 0, 100_000),
    metricsToken,
  });
}

const maskPassword = (url: string): string => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

/** Parses the environment once into a frozen object; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd?: string): Readonly<Config> {
  const databaseUrl = read(env, 'DATABASE_URL') ?? DEFAULT_DATABASE_URL;
  const logLevel = (read(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const synchronous = (read(env, 'SQLITE_SYNCHRONOUS') ?? 'full').toUpperCase();
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw new ConfigError('SQLITE_SYNCHRONOUS', `expected full or normal, got "${synchronous.toLowerCase()}"`);
  }
  // Without authentication, only this machine may call unless HOST says otherwise.
  const host = read(env, 'HOST') ?? ((read(env, 'AUTH_MODE') ?? 'off').toLowerCase() === 'off' ? '127.0.0.1' : '0.0.0.0');
  if (!/^[A-Za-z0-9.:_-]+$/.test(host) || host.length > 253) {
    throw new ConfigError('HOST', `expected an IP address or host name, got "${host}"`);
  }
  const startupCheck = (read(env, 'STARTUP_CHECK') ?? 'refuse').toLowerCase();
  if (!(STARTUP_CHECKS as readonly string[]).includes(startupCheck)) {
    throw new ConfigError('STARTUP_CHECK', `expected refuse, repair or off, got "${startupCheck}"`);
  }
  const fastPaths = (read(env, 'RESERVE_FAST_PATHS') ?? 'on').toLowerCase();
  if (fastPaths !== 'on' && fastPaths !== 'off') {
    throw new ConfigError('RESERVE_FAST_PATHS', `expected on or off, got "${fastPaths}"`);
  }
  const database = parseDatabaseUrl(databaseUrl, cwd);
  const workers = integer(env, 'WORKERS', 1, 1, 64);
  if (workers > 1 && database.kind !== 'postgres') {
    throw new ConfigError(
      'WORKERS',
      `${workers} processes need PostgreSQL (DATABASE_URL=postgres://...); SQLite is one connection in one process, so run WORKERS=1`,
    );
  }
  const requestTimeoutMs = integer(env, 'REQUEST_TIMEOUT', 30_000, 1_000, 600_000);
  const headersTimeoutMs = integer(env, 'HEADERS_TIMEOUT', 10_000, 1_000, 600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HEADERS_TIMEOUT', `must not exceed REQUEST_TIMEOUT (${requestTimeoutMs}), got "${headersTimeoutMs}"`);
  }
  const nodeEnv = read(env, 'NODE_ENV') ?? 'development';
  return Object.freeze({
    port: integer(env, 'PORT', 5000, 0, 65_535),
    host,
    database: Object.freeze(database),
    databaseUrlForLogs: maskPassword(databaseUrl),
    reservationTtlMs: integer(env, 'RESERVATION_TTL', 300_000, 1, 7 * 24 * 3_600_000),
    cleanupIntervalMs: integer(env, 'CLEANUP_INTERVAL', 1_000, 10, 3_600_000),
    nodeEnv,
    logLevel: logLevel as LogLevel,
    sqliteSynchronous: synchronous,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    workers,
    requestTimeoutMs,
    headersTimeoutMs,
    maxConnections: integer(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    maxConnectionsPerClient: integer(env, 'MAX_CONNECTIONS_PER_CLIENT', 256, 1, 1_000_000),
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT', 5_000, 100, 600_000),
    corsOrigins: Object.freeze(parseOrigins(read(env, 'CORS_ORIGINS'))),
    startupCheck: startupCheck as StartupCheck,
    reserveFastPaths: fastPaths === 'on',
    auth: Object.freeze(parseAuth(env, nodeEnv)),
    rateLimit: Object.freeze(parseRateLimit(env)),
    trustProxy: parseTrustProxy(read(env, 'TRUST_PROXY')),
    ops: parseOps(env),
    backup: Object.freeze(parseBackupConfig(env, database, cwd)),
    tls: Object.freeze(parseTlsConfig(env)),
  });
}
