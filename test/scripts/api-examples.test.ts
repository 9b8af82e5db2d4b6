import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { API_MD, regenerate } from '../../scripts/api-examples.js';

describe('docs/API.md examples', () => {
  it('are what the server answers now (regenerate with npm run docs:api)', { timeout: 60_000 }, async () => {
    const committed = await readFile(API_MD, 'utf8');
    const fresh = await regenerate(committed);
    if (fresh !== committed) {
      const a = committed.split('\n');
      const b = fresh.split('\n');
      const line = a.findIndex((text, i) => text !== b[i]);
      assert.fail(`docs/API.md line ${line + 1} is stale:\n  committed: ${a[line]}\n  server:    ${b[line]}\nRun npm run docs:api`);
    }
  });

  it('show only time-ordered (version 7) ids', async () => {
    const ids = (await readFile(API_MD, 'utf8')).match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
    assert.ok(ids.length > 20);
    const nil = '00000000-0000-0000-0000-000000000000'; // the unknown id some refusals are shown with
    assert.deepEqual(ids.filter((id) => id !== nil && id[14] !== '7'), []);
  });
});
