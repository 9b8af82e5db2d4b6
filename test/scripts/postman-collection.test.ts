import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import newman, { type NewmanRunSummary } from 'newman';
import { COLLECTION_FILE, generateCollection, SCENARIOS } from '../../scripts/postman-collection.js';
import { buildDemoApp } from '../../scripts/demo-app.js';
import { loadConfig } from '../../src/config.js';

describe('docs/Postman_Collection.json', () => {
  it('is generated from the current document (regenerate with npm run docs:postman)', async () => {
    assert.equal(await readFile(COLLECTION_FILE, 'utf8'), await generateCollection());
  });

  it('its test scenarios pass with newman against a real server, twice in a row', { timeout: 120_000 }, async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'sqlite::memory:', RATE_LIMIT_MAX: '0' });
    const stockhold = await buildDemoApp({ config });
    try {
      await stockhold.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = stockhold.app.server.address() as AddressInfo;
      const collection = JSON.parse(await readFile(COLLECTION_FILE, 'utf8')) as object;
      const run = () =>
        new Promise<NewmanRunSummary>((resolve, reject) => {
          newman.run(
            { collection, folder: SCENARIOS, envVar: [{ key: 'baseUrl', value: `http://127.0.0.1:${port}` }], reporters: [], timeoutRequest: 10_000 },
            (err, summary) => (err ? reject(err) : resolve(summary)),
          );
        });
      for (const summary of [await run(), await run()]) {
        const failures = summary.run.failures.map((f) => `${f.source?.name ?? '?'}: ${f.error.message}`);
        assert.deepEqual(failures, []);
        assert.equal(summary.run.stats.requests.total, 17);
        assert.equal(summary.run.stats.assertions.total, 31);
        assert.equal(summary.run.stats.assertions.failed, 0);
      }
    } finally {
      await stockhold.app.close();
    }
  });
});
