// The OpenAPI 3.1 document: @fastify/swagger builds it from the route schemas (bodies, params,
// success views and each route's own refusals); this module adds, in one place, what every route
// shares: security with the role it needs, the request and response headers, and the refusals
// that come from the HTTP layer rather than the route (authentication, limits, malformed
// requests, an unavailable store), each with the codes it can carry and an example per code.
import type { SwaggerOptions } from '@fastify/swagger';
import type { RouteOptions } from 'fastify';
import { ALLOWED_ROLES, type Access } from '../auth/auth-hooks.js';
import { RATE_LIMIT_EXEMPT_ROUTES } from '../rate-limit.js';
import { ERROR_EXAMPLES, type ErrorCode } from '../schemas/error.schema.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const API_VERSION = '0.1.0';

const stringHeader = (description: string, required = false, schema: Json = { type: 'string' }) => ({ description, required, schema });

const REQUEST_ID = stringHeader(
  'Correlates this request in the server log. Sent back as given, or a fresh id when the request had none or an invalid one.',
);
const IDEMPOTENT_REPLAYED = stringHeader('`true` when this answer is the stored answer to an earlier request with the same key', false, {
  type: 'string',
  enum: ['true'],
});
const RETRY_AFTER = stringHeader('Seconds to wait before retrying', true, { type: 'string', pattern: '^[0-9]+$' });
const WWW_AUTHENTICATE = stringHeader('The scheme to authenticate with (RFC 6750)', true);

const KEY_SCHEMA = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' };
const IDEMPOTENCY_PARAMETERS = [
  {
    in: 'header',
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes a retry safe: the first answer is stored with its effect and replayed for the same key and request. ' +
      'The same key for a different request is 422; while the first is still running, 409.',
    schema: KEY_SCHEMA,
    example: 'order-7f3c-attempt',
  },
  {
    in: 'header',
    name: 'X-Idempotency-Key',
    required: false,
    description: 'Alias of Idempotency-Key (as is the body field idempotencyKey). Two different keys in one request are a 400.',
    schema: KEY_SCHEMA,
  },
];
const REQUEST_ID_PARAMETER = { in: 'header', name: 'X-Request-Id', required: false, description: REQUEST_ID.description, schema: { type: 'string' } };

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: invalid input, or a business refusal that the request itself causes',
  401: 'No valid bearer token (only with AUTH_MODE=jwt; on a public route, only when a bad token is sent)',
  403: 'The caller may not do this',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'The body is larger than 1 MiB',
  415: 'The body is not JSON',
  422: 'This Idempotency-Key was used for a different request',
  429: 'Over the rate limit (only when RATE_LIMIT_MAX is not 0)',
  500: 'A bug; the cause is logged, the message is generic',
  503: 'The store is unavailable or the server is shutting down; nothing was done',
};

const isMutation = (method: string): boolean => method !== 'GET' && method !== 'HEAD';

/** Refusals every operation of a kind may answer, on top of its own. */
function sharedRefusals(method: string, access: Access, path: string): Record<number, ErrorCode[]> {
  const shared: Record<number, ErrorCode[]> = {
    // Every route refuses query parameters it does not declare (VALIDATION_ERROR).
    400: isMutation(method) ? ['VALIDATION_ERROR', 'INVALID_JSON', 'BAD_REQUEST'] : ['VALIDATION_ERROR', 'BAD_REQUEST'],
    401: ['UNAUTHENTICATED'],
    500: ['INTERNAL_ERROR'],
    503: ['SERVICE_UNAVAILABLE'],
  };
  if (access !== 'public') shared[403] = ['FORBIDDEN'];
  if (!RATE_LIMIT_EXEMPT_ROUTES.has(path)) shared[429] = ['RATE_LIMITED'];
  if (isMutation(method)) {
    shared[409] = ['IDEMPOTENCY_IN_PROGRESS'];
    shared[413] = ['PAYLOAD_TOO_LARGE'];
    shared[415] = ['UNSUPPORTED_MEDIA_TYPE'];
    shared[422] = ['IDEMPOTENCY_KEY_MISMATCH'];
  }
  return shared;
}

/** The codes a generated response already lists (from the route's own refusals). */
function codesOf(response: Json | undefined): ErrorCode[] {
  const code = response?.content?.['application/json']?.schema?.properties?.code;
  const alternatives: Json[] = code?.anyOf ?? (code ? [code] : []);
  return alternatives.flatMap((alt) => (alt.const !== undefined ? [alt.const] : (alt.enum ?? [])));
}

export function errorResponse(status: number, codes: readonly ErrorCode[]): Json {
  const examples: Json = {};
  for (const code of codes) {
    examples[code] = { value: { success: false, statusCode: status, code, ...ERROR_EXAMPLES[code] } };
  }
  return {
    description: `${DESCRIPTIONS[status] ?? 'Refused'}. Codes: ${codes.join(', ')}.`,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['success', 'statusCode', 'error', 'code'],
          additionalProperties: false,
          properties: {
            success: { const: false },
            statusCode: { const: status },
            error: { type: 'string', description: 'For people; program against code' },
            code: { type: 'string', enum: codes },
            details: { type: 'object' },
          },
        },
        examples,
      },
    },
  };
}

function completeOperation(operation: Json, method: string, path: string): void {
  const access: Access = operation['x-access'] ?? 'user';
  const mutation = isMutation(method);
  operation.security = access === 'public' ? [] : [{ bearer: [...ALLOWED_ROLES[access]] }];
  const who = access === 'public' ? 'Public: no token needed.' : `Needs a bearer token with one of the roles: ${ALLOWED_ROLES[access].join(', ')}.`;
  operation.description = [operation.description, who].filter(Boolean).join('\n\n');
  operation.parameters = [...(operation.parameters ?? []), REQUEST_ID_PARAMETER, ...(mutation ? IDEMPOTENCY_PARAMETERS : [])];

  const responses: Json = operation.responses;
  for (const [status, codes] of Object.entries(sharedRefusals(method, access, path))) {
    const merged = [...new Set([...codesOf(responses[status]), ...codes])];
    responses[status] = errorResponse(Number(status), merged);
  }
  for (const [status, response] of Object.entries<Json>(responses)) {
    if (Number(status) >= 400 && !response.content?.['application/json']?.examples) {
      responses[status] = errorResponse(Number(status), codesOf(response));
    }
    const headers: Json = { 'X-Request-Id': REQUEST_ID };
    // Stored answers are replayed: successes and business refusals, never faults or transport refusals.
    if (mutation && Number(status) < 500 && ![413, 415].includes(Number(status))) headers['Idempotent-Replayed'] = IDEMPOTENT_REPLAYED;
    if (status === '429' || status === '503') headers['Retry-After'] = RETRY_AFTER;
    if (status === '401') headers['WWW-Authenticate'] = WWW_AUTHENTICATE;
    responses[status].headers = { ...responses[status].headers, ...headers };
  }
}

const INFO_DESCRIPTION = [
  'Holds scarce stock for shoppers during a flash sale and turns holds into orders, never selling a unit it does not have.',
  'Every answer is a JSON envelope: `success`, `statusCode`, then `message` and `data` (success) or `error`, `code` and optional `details` (refusal). Program against `code`.',
  'Authentication: with `AUTH_MODE=jwt`, send `Authorization: Bearer <token>`; each operation names the roles it accepts. With `AUTH_MODE=off` (development only) no token is checked and 401/403 `FORBIDDEN` never occur.',
  'Answered before routing, on any path: 404 `ROUTE_NOT_FOUND` (no route for the method and path), 400 `BAD_REQUEST` (malformed URL or HTTP), 429 `RATE_LIMITED` (unknown paths count against the limit too), 408 `REQUEST_TIMEOUT` and 431 `HEADERS_TOO_LARGE`; a body sent to a path no route takes is still read, so it may first be refused as a body (400 `VALIDATION_ERROR` or `INVALID_JSON`, 413 `PAYLOAD_TOO_LARGE`, 415 `UNSUPPORTED_MEDIA_TYPE`).',
].join('\n\n');

export const swaggerOptions: SwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: { title: 'stockhold', version: API_VERSION, description: INFO_DESCRIPTION },
    tags: [
      { name: 'inventory', description: 'Products and their stock' },
      { name: 'reservations', description: 'Holding units for a shopper' },
      { name: 'checkout', description: 'Turning a reservation into an order, and cancelling' },
      { name: 'orders', description: 'Orders and their payment' },
      { name: 'health', description: 'Liveness of the service and its store' },
      { name: 'meta', description: 'This description and the browser reference' },
    ],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  },
  // Stamps the route's access level on its operation; transformObject turns it into security.
  transform: ({ schema, url, route }) => {
    const access = (route as RouteOptions).config?.access ?? 'user';
    return { schema: { ...schema, 'x-access': access } as typeof schema, url };
  },
  transformObject: (documentObject) => {
    const document = (documentObject as { openapiObject: Json }).openapiObject;
    for (const [path, item] of Object.entries<Json>(document.paths ?? {})) {
      for (const [method, operation] of Object.entries<Json>(item)) completeOperation(operation, method.toUpperCase(), path.replace(/\{(\w+)\}/g, ':$1'));
    }
    // Copied through JSON so that no two places share an object: the YAML would show them as aliases.
    return JSON.parse(JSON.stringify(document)) as Json;
  },
};
