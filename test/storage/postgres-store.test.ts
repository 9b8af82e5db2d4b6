import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openPostgresTestStore, SKIP_WITHOUT_POSTGRES } from '../helpers/postgres.js';
import { runStoreContract } from './store-contract.js';

// pg warns (once per process) when a query is sent on a connection still running another one.
// Each test file runs in a process of its own, so every warning of this file's runs is seen here.
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(warning.message));
const overlapping = () => warnings.filter((message) => /already executing a query/.test(message));

if (SKIP_WITHOUT_POSTGRES) {
  describe('PostgreSQL store', { skip: SKIP_WITHOUT_POSTGRES }, () => undefined);
} else {
  runStoreContract('PostgreSQL store (a schema per test)', openPostgresTestStore, { servesInArrivalOrder: false });

  describe('PostgreSQL store connections', () => {
    it('a transaction sends its queries one at a time, even when its caller asks for several at once', async () => {
      const store = await openPostgresTestStore();
      try {
        const T0 = Date.parse('2030-01-01T00:00:00Z');
        const answers = await store.transaction(async (tx) => {
          await tx.products.insert({ sku: 'APPLE', productName: 'Apple', priceMinor: 100, onHand: 5, maxPerUser: null }, T0);
          return Promise.all([tx.products.get('APPLE'), tx.products.count(), tx.reservations.listLive('ann'), tx.products.getMany(['APPLE'])]);
        });
        assert.equal(answers[1], 1);
      } finally {
        await store.close();
      }
      await nextTurn();
      assert.deepEqual(overlapping(), [], 'not once in this file: the contract above and this test');
    });
  });
}
