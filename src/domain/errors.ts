export type DomainErrorCode =
  | 'VALIDATION_ERROR'
  | 'PRODUCT_NOT_FOUND'
  | 'PRODUCT_EXISTS'
  | 'INSUFFICIENT_INVENTORY'
  | 'PURCHASE_LIMIT_EXCEEDED'
  | 'RESERVATION_NOT_FOUND'
  | 'RESERVATION_EXPIRED'
  | 'RESERVATION_CONFLICT'
  | 'ORDER_NOT_FOUND'
  | 'INVALID_STATE'
  | 'NOT_OWNER'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'IDEMPOTENCY_KEY_MISMATCH'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

export type ErrorDetails = Record<string, unknown>;

/** The one error type business rules throw; the HTTP layer maps `code` to a status in one place. */
export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: DomainErrorCode, message: string, details?: ErrorDetails) {
    // A refusal is an answer, not a fault: nobody reads its stack, and capturing one cost more
    // than the rest of a sold-out refusal. Store faults keep theirs through `cause`.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}

export const isDomainError = (err: unknown): err is DomainError => err instanceof DomainError;
