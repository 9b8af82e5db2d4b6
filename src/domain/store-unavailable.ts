/**
 * The store could not do its job for a reason outside the request (disk full, database
 * unreachable, busy past its timeout). Nothing was committed; the client may retry.
 */
export class StoreUnavailableError extends Error {
  readonly retryAfterSeconds: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, { cause: options?.cause });
    this.name = 'StoreUnavailableError';
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1;
  }
}
