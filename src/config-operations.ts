import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DatabaseConfig } from './config.js';
import { ConfigError, integer, read } from './config.js';

type Env = Record<string, string | undefined>;

/** Scheduled online backups of the SQLite store, taken by the serving process. */
export type BackupConfig = { enabled: false } | { enabled: true; dir: string; intervalMs: number; keep: number };

/** HTTPS without a proxy: the PEM certificate chain and private key, read once at start-up. */
export type TlsConfig = { enabled: false } | { enabled: true; cert: Buffer; key: Buffer; certFile: string; keyFile: string };

export function parseBackupConfig(env: Env, database: DatabaseConfig, cwd: string = process.cwd()): BackupConfig {
  const dir = read(env, 'BACKUP_DIR');
  const intervalMs = integer(env, 'BACKUP_INTERVAL', 3_600_000, 60_000, 7 * 24 * 3_600_000);
  const keep = integer(env, 'BACKUP_KEEP', 24, 1, 10_000);
  if (dir === undefined) return { enabled: false };
  if (database.kind !== 'sqlite' || database.filename === ':memory:') {
    throw new ConfigError('BACKUP_DIR', 'scheduled backups are for a SQLite file; back PostgreSQL up with pg_basebackup and WAL archiving (docs/OPERATIONS.md)');
  }
  return { enabled: true, dir: resolve(cwd, dir), intervalMs, keep };
}

function readPem(env: Env, name: string, marker: RegExp): Buffer {
  const path = read(env, name) as string;
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError(name, `cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!marker.test(pem.toString('latin1'))) throw new ConfigError(name, `"${path}" is not a PEM file of the expected kind`);
  return pem;
}

export function parseTlsConfig(env: Env): TlsConfig {
  const certFile = read(env, 'TLS_CERT_FILE');
  const keyFile = read(env, 'TLS_KEY_FILE');
  if (certFile === undefined && keyFile === undefined) return { enabled: false };
  if (certFile === undefined) throw new ConfigError('TLS_CERT_FILE', 'TLS_KEY_FILE is set, so the certificate is needed too');
  if (keyFile === undefined) throw new ConfigError('TLS_KEY_FILE', 'TLS_CERT_FILE is set, so the private key is needed too');
  return {
    enabled: true,
    cert: readPem(env, 'TLS_CERT_FILE', /-----BEGIN CERTIFICATE-----/),
    key: readPem(env, 'TLS_KEY_FILE', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/),
    certFile,
    keyFile,
  };
}
