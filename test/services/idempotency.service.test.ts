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
import { openTestStore } from '../helpers/test-app.js';

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

  it('a failure with no stored answer frees the key at once', async () => {
    await service.begin(request);
    await service.finishWithoutEffect(request.principal, request.key, null);
    assert.deepEqual(await service.begin(request), { kind: 'started' });
  });
});
