import { resolve } from 'node:path';

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
  /** Browser origins allowed by CORS; empty: no CORS headers, browsers on other origins are refused. */
  corsOrigins: readonly string[];
  /** What start-up does when counters drifted from the ledger, reservations and orders. */
  startupCheck: StartupCheck;
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

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
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
  const host = read(env, 'HOST') ?? '0.0.0.0';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host) || host.length > 253) {
    throw new ConfigError('HOST', `expected an IP address or host name, got "${host}"`);
  }
  const startupCheck = (read(env, 'STARTUP_CHECK') ?? 'refuse').toLowerCase();
  if (!(STARTUP_CHECKS as readonly string[]).includes(startupCheck)) {
    throw new ConfigError('STARTUP_CHECK', `expected refuse, repair or off, got "${startupCheck}"`);
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
  return Object.freeze({
    port: integer(env, 'PORT', 5000, 0, 65_535),
    host,
    database: Object.freeze(database),
    databaseUrlForLogs: maskPassword(databaseUrl),
    reservationTtlMs: integer(env, 'RESERVATION_TTL', 300_000, 1, 7 * 24 * 3_600_000),
    cleanupIntervalMs: integer(env, 'CLEANUP_INTERVAL', 1_000, 10, 3_600_000),
    nodeEnv: read(env, 'NODE_ENV') ?? 'development',
    logLevel: logLevel as LogLevel,
    sqliteSynchronous: synchronous,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    workers,
    requestTimeoutMs,
    headersTimeoutMs,
    maxConnections: integer(env, 'MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    corsOrigins: Object.freeze(parseOrigins(read(env, 'CORS_ORIGINS'))),
    startupCheck: startupCheck as StartupCheck,
  });
}
