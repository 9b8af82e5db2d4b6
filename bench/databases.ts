// Fresh databases for each configuration: a temp SQLite file, or a PostgreSQL database the bench creates and drops.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type BenchDatabase =
  | { kind: 'sqlite'; url: string; file: string; drop(): Promise<void> }
  | { kind: 'postgres'; url: string; drop(): Promise<void> };

export function freshSqlite(label: string): BenchDatabase {
  const dir = mkdtempSync(join(tmpdir(), `stockhold-bench-${label}-`));
  const file = join(dir, 'bench.db');
  return {
    kind: 'sqlite',
    url: `sqlite:${file}`,
    file,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Creates `stockhold_bench_<pid>` (or `stockhold_bench_<pid>_<label>`) on the admin URL's server,
 * recreating it on every fresh(), and drops every database it made in dropAll().
 */
export class PgAdmin {
  readonly database = `stockhold_bench_${process.pid}`;
  private readonly made = new Set<string>();

  constructor(private readonly adminUrl: string) {}

  /** The admin URL with its password masked, for messages. */
  get maskedUrl(): string {
    return this.adminUrl.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }

  private async admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 3_000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  /** null when the server answers, else why not. */
  async unreachable(): Promise<string | null> {
    try {
      await this.admin((client) => client.query('SELECT 1'));
      return null;
    } catch (err) {
      return err instanceof Error ? (err.message || (err as { code?: string }).code || err.name) : String(err);
    }
  }

  urlOf(database: string): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${database}`;
    return url.toString();
  }

  /** Drops the database if it exists and creates it empty. */
  async fresh(label = ''): Promise<BenchDatabase> {
    const name = label === '' ? this.database : `${this.database}_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
    await this.drop(name);
    this.made.add(name);
    await this.admin((client) => client.query(`CREATE DATABASE ${name}`));
    return { kind: 'postgres', url: this.urlOf(name), drop: () => this.drop(name) };
  }

  async drop(name: string): Promise<void> {
    await this.admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    this.made.delete(name);
  }

  async dropAll(): Promise<void> {
    for (const name of [...this.made]) await this.drop(name);
  }
}
