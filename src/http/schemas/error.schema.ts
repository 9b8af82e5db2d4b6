import { Type, type TObject } from '@sinclair/typebox';
import type { DomainErrorCode } from '../../domain/errors.js';

/** Codes the HTTP layer itself answers with, on top of the business ones. */
export type HttpErrorCode =
  | 'ROUTE_NOT_FOUND'
  | 'INVALID_JSON'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'INTERNAL_ERROR';
export type ErrorCode = DomainErrorCode | HttpErrorCode;

/**
 * One realistic refusal per code, as the server words it: the document's examples. The messages
 * are the ones the code raises; a test checks that every example validates against its status.
 */
export const ERROR_EXAMPLES: Readonly<Record<ErrorCode, { error: string; details?: Record<string, unknown> }>> = {
  VALIDATION_ERROR: { error: 'userId is required', details: { errors: [{ field: 'userId', message: 'is required' }] } },
  INVALID_JSON: { error: 'Request body is not valid JSON' },
  BAD_REQUEST: { error: 'Malformed request' },
  INSUFFICIENT_INVENTORY: { error: 'Insufficient inventory available', details: { sku: 'LAPTOP001', requested: 2, available: 1 } },
  PURCHASE_LIMIT_EXCEEDED: { error: 'At most 2 units of LAPTOP001 per customer', details: { sku: 'LAPTOP001', limit: 2 } },
  RESERVATION_EXPIRED: { error: 'Reservation has expired', details: { reservationId: '019ac7a4-2f60-7c3e-9a55-3b9e0c1d2e4f' } },
  INVALID_STATE: { error: 'Reservation is CONFIRMED', details: { status: 'CONFIRMED' } },
  UNAUTHENTICATED: { error: 'Authentication required: send Authorization: Bearer <token>', details: { reason: 'missing_token' } },
  NOT_OWNER: { error: 'This reservation belongs to another user' },
  FORBIDDEN: { error: 'The customer role may not call this route', details: { role: 'customer' } },
  PRODUCT_NOT_FOUND: { error: 'Product not found', details: { sku: 'NOPE001' } },
  RESERVATION_NOT_FOUND: { error: 'Reservation not found', details: { reservationId: '019ac7a4-2f60-7c3e-9a55-3b9e0c1d2e4f' } },
  ORDER_NOT_FOUND: { error: 'Order not found', details: { orderId: '019ac7a4-3a10-7d01-8b66-4cae1d2e3f50' } },
  ROUTE_NOT_FOUND: { error: 'No route DELETE /inventory' },
  PRODUCT_EXISTS: { error: 'Product already exists', details: { sku: 'LAPTOP001' } },
  RESERVATION_CONFLICT: { error: 'You already hold a live reservation for this product', details: { sku: 'LAPTOP001' } },
  IDEMPOTENCY_IN_PROGRESS: { error: 'A request with this Idempotency-Key is still in progress' },
  PAYLOAD_TOO_LARGE: { error: 'Request body is larger than 1 MiB' },
  UNSUPPORTED_MEDIA_TYPE: { error: 'Send the request body as application/json' },
  REQUEST_TIMEOUT: { error: 'The request did not arrive in time' },
  HEADERS_TOO_LARGE: { error: 'Request headers are too large' },
  IDEMPOTENCY_KEY_MISMATCH: { error: 'This Idempotency-Key was used with a different request' },
  RATE_LIMITED: { error: 'Too many requests; retry after 42 s', details: { limit: 120, retryAfterSeconds: 42 } },
  INTERNAL_ERROR: { error: 'Internal server error' },
  SERVICE_UNAVAILABLE: { error: 'The store is unavailable; retry shortly' },
};

/** The error envelope, its `code` limited to the ones a response can carry. */
export const ErrorEnvelopeOf = (codes: readonly ErrorCode[]): TObject =>
  Type.Object(
    {
      success: Type.Literal(false),
      statusCode: Type.Integer(),
      error: Type.String({ description: 'For people; program against code' }),
      // An enum, not a union of literals: the serialiser ignores enum, and the HTTP layer may add codes
      // (src/http/openapi/openapi-document.ts lists them) that a route's own list leaves out.
      code: Type.Unsafe<ErrorCode>({ type: 'string', enum: [...codes] }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    },
    { additionalProperties: false },
  );

/**
 * A route's own refusals, by status: `{ 404: ['PRODUCT_NOT_FOUND'] }`. The refusals every route
 * shares (authentication, limits, malformed requests, the store) are added to the document in
 * one place, src/http/openapi/openapi-document.ts.
 */
export function refusals(byStatus: Readonly<Partial<Record<number, readonly ErrorCode[]>>>): Record<number, TObject> {
  const responses: Record<number, TObject> = {};
  for (const [status, codes] of Object.entries(byStatus)) responses[Number(status)] = ErrorEnvelopeOf(codes ?? []);
  return responses;
}
