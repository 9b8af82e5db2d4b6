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

let discardedBatches = 0;

/**
 * How many times, in this process, a store threw away transactions whose bodies had already run
 * to the end: a group-commit batch whose COMMIT failed, or that SQLite abandoned part-way (disk
 * full, I/O error). An in-memory hint derived inside such a body (the sold-out cache) may
 * describe a state that never committed, so it compares this count and drops what it holds when
 * the count moves. Process-wide rather than per store because those hints are wired without a
 * store; a discard by some other store only costs them cache misses.
 */
export function discardedBatchCount(): number {
  return discardedBatches;
}

/** Called by a store, synchronously, before it tells any caller of the discarded batch. */
export function noteDiscardedBatch(): void {
  discardedBatches++;
}

/**
 * A write broke a table's CHECK: for products, the counters' own guard (`reserved <= on_hand`,
 * nothing negative). Both stores keep that guard in the schema, so it holds however writes race.
 */
export function isCheckViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // SQLite's extended code, PostgreSQL's SQLSTATE check_violation.
  return code === 'SQLITE_CONSTRAINT_CHECK' || code === '23514';
}
