import type { Config } from '../config.js';
import { PgStore } from './postgres/pg-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the store DATABASE_URL names and brings its schema up to date. */
export async function openStore(
  config: Pick<Config, 'database' | 'sqliteSynchronous' | 'databasePoolSize'>,
): Promise<Store> {
  if (config.database.kind === 'postgres') {
    return PgStore.open({ connectionString: config.database.url, poolSize: config.databasePoolSize });
  }
  return new SqliteStore({ filename: config.database.filename, synchronous: config.sqliteSynchronous });
}
