import { StoreUnavailableError } from '../../domain/store-unavailable.js';

// SQLSTATEs that mean "the database, not the request": connection loss, shutdown, overload, timeouts.
// 55000: not accepting connections; 25006: read-only (a standby after failover); 28: auth; 3D000: no database.
const UNAVAILABLE_STATES = /^(08|53|57P0|57014|55P03|55000|25P03|25006|28|3D000|58)/;
// Deadlock and serialisation failures: the transaction did nothing and may simply run again.
const RETRYABLE_STATES = new Set(['40001', '40P01']);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN/;

const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export const isRetryable = (err: unknown): boolean => RETRYABLE_STATES.has(codeOf(err) ?? '');

/** True when the connection the error came from must not be reused. */
export function isConnectionLost(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && /^(08|57P0)/.test(code)) return true;
  return err instanceof Error && UNAVAILABLE_MESSAGES.test(`${code ?? ''} ${err.message}`);
}

export function translatePgError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = codeOf(err);
  if ((code !== undefined && UNAVAILABLE_STATES.test(code)) || isConnectionLost(err)) {
    return new StoreUnavailableError(`PostgreSQL store unavailable (${code ?? (err as Error).message})`, { cause: err });
  }
  return err;
}
