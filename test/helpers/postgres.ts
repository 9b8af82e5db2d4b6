import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import type { Store } from '../../src/storage/store.js';

/** Where PostgreSQL tests run; unset means they are skipped (the runner says so once). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

export const SKIP_WITHOUT_POSTGRES = TEST_DATABASE_URL ? false : 'TEST_DATABASE_URL is not set; PostgreSQL tests skipped';

let admin: pg.Pool | undefined;
function adminPool(): pg.Pool {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  admin ??= new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2, allowExitOnIdle: true });
  return admin;
}

const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;

function withParam(url: string, name: string, value: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set(name, value);
  return parsed.toString();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** An empty schema of its own; `url` connects to it (search_path), for stores and child processes alike. */
export async function createTestSchema(): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = uniqueName('stockhold_test');
  await adminPool().query(`CREATE SCHEMA ${schema}`);
  return {
    schema,
    url: withParam(TEST_DATABASE_URL as string, 'options', `-c search_path=${schema}`),
    drop: async () => {
      await adminPool().query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** A schema of its own for one store; dropped with it. */
export async function openPostgresTestStore(): Promise<Store> {
  const { url, drop } = await createTestSchema();
  const store = await PgStore.open({ connectionString: url, poolSize: 5 });
  return {
    kind: store.kind,
    capabilities: store.capabilities,
    transaction: (fn) => store.transaction(fn),
    ping: () => store.ping(),
    close: async () => {
      await store.close();
      await drop();
    },
  };
}

/** A whole database of its own, for tests that run several server processes on it. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const database = uniqueName('stockhold_test');
  await adminPool().query(`CREATE DATABASE ${database}`);
  return {
    url: withDatabase(TEST_DATABASE_URL as string, database),
    drop: async () => {
      await adminPool().query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

/** Runs SQL on a test database directly, to check what the service wrote. */
export async function queryDatabase<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
