import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/domain/clock.js';
import { DomainError } from '../../src/domain/errors.js';
import {
  IDEMPOTENCY_LEASE_MS,
  IdempotencyService,
  type IdempotentRequest,
} from '../../src/services/idempotency.service.js';
import type { Store } from '../../src/storage/store.js';
import { openTestStore, startTestApp } from '../helpers/test-app.js';

const request: IdempotentRequest = { principal: 'user:u', key: 'k', method: 'POST', path: '/inventory/reserve', requestHash: 'h1' };

const rejectsWith = (code: string) => (err: unknown) => err instanceof DomainError && err.code === code;

describe('IdempotencyService', () => {
  let store: Store;
  let clock: ManualClock;
  let service: IdempotencyService;
  beforeEach(async () => {
    store = await openTestStore();
    clock = new ManualClock();
    service = new IdempotencyService({ store, clock });
  });
  afterEach(() => store.close());

  it('a key being worked on answers IDEMPOTENCY_IN_PROGRESS to a second caller', async () => {
    assert.deepEqual(await service.begin(request), { kind: 'started' });
    await assert.rejects(service.begin(request), rejectsWith('IDEMPOTENCY_IN_PROGRESS'));
  });

  it('a key abandoned by a crash can be retried once its lease has run out', async () => {
    await service.begin(request);
    clock.advance(IDEMPOTENCY_LEASE_MS - 1);
    await assert.rejects(service.begin(request), rejectsWith('IDEMPOTENCY_IN_PROGRESS'));
    clock.advance(1);
    assert.deepEqual(await service.begin(request), { kind: 'started' });
  });

  it('a finished key replays its stored answer; a different request with it is a mismatch', async () => {
    await service.begin(request);
    await store.transaction((tx) => service.complete(tx, request.principal, request.key, 201, '{"ok":1}'));
    assert.deepEqual(await service.begin(request), { kind: 'replay', statusCode: 201, body: '{"ok":1}' });
    await assert.rejects(service.begin({ ...request, requestHash: 'h2' }), rejectsWith('IDEMPOTENCY_KEY_MISMATCH'));
    await assert.rejects(service.begin({ ...request, path: '/checkout/confirm' }), rejectsWith('IDEMPOTENCY_KEY_MISMATCH'));
  });

  it('on SQLite, a restart frees the keys its previous process left pending, and keeps finished ones', async (t) => {
    if (store.kind !== 'sqlite') {
      t.skip('only the one process on a SQLite database can know nothing else is in flight');
      return;
    }
    await service.begin(request);
    const finished = { ...request, key: 'done' };
    await service.begin(finished);
    await store.transaction((tx) => service.complete(tx, finished.principal, finished.key, 201, '{"ok":1}'));
    // What a restart does first, the lease still far from over.
    const app = await startTestApp({ store });
    try {
      assert.deepEqual(await service.begin(request), { kind: 'started' });
      assert.deepEqual(await service.begin(finished), { kind: 'replay', statusCode: 201, body: '{"ok":1}' });
    } finally {
      await app.close();
    }
  });

  it('a failure with no stored answer frees the key at once', async () => {
    await service.begin(request);
    await service.finishWithoutEffect(request.principal, request.key, null);
    assert.deepEqual(await service.begin(request), { kind: 'started' });
  });
});
