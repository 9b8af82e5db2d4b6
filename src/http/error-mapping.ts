import type { FastifyError } from 'fastify';
import { isDomainError, type DomainError, type DomainErrorCode } from '../domain/errors.js';
import { StoreUnavailableError } from '../domain/store-unavailable.js';
import { failure, type ErrorEnvelope } from './envelope.js';

/** The one place a DomainError code becomes an HTTP status. */
export const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  VALIDATION_ERROR: 400,
  INSUFFICIENT_INVENTORY: 400,
  PURCHASE_LIMIT_EXCEEDED: 400,
  RESERVATION_EXPIRED: 400,
  INVALID_STATE: 400,
  NOT_OWNER: 403,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  PRODUCT_NOT_FOUND: 404,
  RESERVATION_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  PRODUCT_EXISTS: 409,
  RESERVATION_CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_MISMATCH: 422,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

export interface ErrorResponse {
  payload: ErrorEnvelope;
  headers: Record<string, string>;
  /** Unexpected: log it with its stack; the client only sees a generic message. */
  unexpected: boolean;
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string };
}

function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  const path = (issue.instancePath ?? '').replace(/^\//, '');
  const leaf = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  const field = [path, leaf].filter(Boolean).join('/');
  return field || (context ?? 'body');
}

function describe(issue: ValidationIssue): string {
  if (issue.params?.additionalProperty) return 'is not a known field';
  if (issue.params?.missingProperty) return 'is required';
  return issue.message ?? 'is invalid';
}

const BY_FASTIFY_CODE: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is larger than this route accepts' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'Request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'Request body is empty; send a JSON object' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Send the request body as application/json',
  },
};

/**
 * Retry-After when the error knows when to come back (RATE_LIMITED). RFC 6750: a 401 names the
 * scheme, and says invalid_token when a token was sent but refused.
 */
function headersFor(err: DomainError): Record<string, string> {
  const retryAfter = err.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') return { 'retry-after': String(retryAfter) };
  if (err.code !== 'UNAUTHENTICATED') return {};
  const invalid = err.details?.reason === 'invalid_token' ? ', error="invalid_token"' : '';
  return { 'www-authenticate': `Bearer realm="stockhold"${invalid}` };
}

export function toErrorResponse(err: unknown): ErrorResponse {
  if (isDomainError(err)) {
    const status = STATUS_BY_CODE[err.code];
    return { payload: failure(status, err.code, err.message, err.details), headers: headersFor(err), unexpected: false };
  }
  if (err instanceof StoreUnavailableError) {
    return {
      payload: failure(503, 'SERVICE_UNAVAILABLE', 'The store is unavailable; retry shortly'),
      headers: { 'retry-after': String(err.retryAfterSeconds) },
      unexpected: false,
    };
  }
  const fastifyError = err as Partial<FastifyError> | null;
  if (fastifyError?.validation) {
    const errors = fastifyError.validation.map((issue) => ({
      field: fieldOf(issue as ValidationIssue, fastifyError.validationContext),
      message: describe(issue as ValidationIssue),
    }));
    const first = errors[0];
    const message = first ? `${first.field} ${first.message}` : 'Request is invalid';
    return { payload: failure(400, 'VALIDATION_ERROR', message, { errors }), headers: {}, unexpected: false };
  }
  const known = fastifyError?.code ? BY_FASTIFY_CODE[fastifyError.code] : undefined;
  if (known) return { payload: failure(known.status, known.code, known.message), headers: {}, unexpected: false };
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Other client errors raised by Fastify itself (prototype poisoning in JSON, bad headers, ...).
    const message = fastifyError?.message ?? 'Bad request';
    return { payload: failure(status, 'BAD_REQUEST', message), headers: {}, unexpected: false };
  }
  return {
    payload: failure(500, 'INTERNAL_ERROR', 'Internal server error'),
    headers: {},
    unexpected: true,
  };
}
