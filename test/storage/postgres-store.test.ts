import { describe } from 'node:test';
import { openPostgresTestStore, SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import { runStoreContract } from './store-contract.js';

if (SKIP_WITHOUT_POSTGRES) {
  describe('PostgreSQL store', { skip: SKIP_WITHOUT_POSTGRES }, () => undefined);
} else {
  runStoreContract('PostgreSQL store (a schema per test)', openPostgresTestStore, { servesInArrivalOrder: false });
}
