import 'dotenv/config';
import { ConfigError, loadConfig } from '../config.js';
import { openStore } from '../storage/open-store.js';

/** `npm run migrate`: applies pending migrations of the store DATABASE_URL names, then exits. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const store = await openStore(config);
  await store.close();
  process.stdout.write(`migrations are up to date on ${config.databaseUrlForLogs}\n`);
}

main().catch((err: unknown) => {
  console.error(`stockhold migrate: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : String(err)}`);
  process.exit(1);
});
