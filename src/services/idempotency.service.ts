import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { Store, StoreTx } from '../storage/store.js';

/** Stripe's window: a key and its first response are kept for 24 hours. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * How long a started request owns its key. The effect and the stored response commit together,
 * so a record still open after this was abandoned (a crash) and did nothing: it may be retried.
 */
export const IDEMPOTENCY_LEASE_MS = 30_000;

export interface IdempotentRequest {
  principal: string;
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

export type BeginResult = { kind: 'started' } | { kind: 'replay'; statusCode: number; body: string };

export class IdempotencyService {
  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  /** Claims the key for this request, or returns the stored response of the first one. */
  begin(request: IdempotentRequest): Promise<BeginResult> {
    const { store, clock } = this.deps;
    return store.transaction(async (tx) => {
      const now = clock.now();
      const claimed = await tx.idempotency.claim(
        {
          ...request,
          statusCode: null,
          responseBody: null,
          createdAt: now,
          expiresAt: now + IDEMPOTENCY_TTL_MS,
          lockedUntil: now + IDEMPOTENCY_LEASE_MS,
        },
        now,
      );
      if (claimed) return { kind: 'started' };
      // A live record holds the key: this is a retry, a concurrent duplicate, or a misuse of the key.
      const record = await tx.idempotency.get(request.principal, request.key);
      if (record) {
        if (record.method !== request.method || record.path !== request.path || record.requestHash !== request.requestHash) {
          throw new DomainError('IDEMPOTENCY_KEY_MISMATCH', 'This Idempotency-Key was used with a different request', {
            key: request.key,
          });
        }
        if (record.statusCode !== null && record.responseBody !== null) {
          return { kind: 'replay', statusCode: record.statusCode, body: record.responseBody };
        }
      }
      throw new DomainError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still in progress', {
        key: request.key,
      });
    });
  }

  /** Called inside the effect's own transaction, so the effect and its stored answer commit together. */
  complete(tx: StoreTx, principal: string, key: string, statusCode: number, body: string): Promise<void> {
    return tx.idempotency.complete(principal, key, statusCode, body);
  }

  /** A request that ended in a business refusal keeps that answer; anything else frees the key. */
  finishWithoutEffect(principal: string, key: string, answer: { statusCode: number; body: string } | null): Promise<void> {
    return this.deps.store.transaction((tx) =>
      answer
        ? tx.idempotency.complete(principal, key, answer.statusCode, answer.body)
        : tx.idempotency.delete(principal, key),
    );
  }

  /**
   * At the start of the only process on its database, a pending key belongs to a request that
   * died with the last process (kill -9, power loss) and did nothing, since the effect and its
   * answer commit together. Freeing them at once saves every retry the lease's 30 s of 409s.
   */
  releaseAbandoned(): Promise<number> {
    return this.deps.store.transaction((tx) => tx.idempotency.releasePending());
  }

  prune(batchSize: number): Promise<number> {
    const { store, clock } = this.deps;
    return store.transaction((tx) => tx.idempotency.prune(clock.now(), batchSize));
  }
}
