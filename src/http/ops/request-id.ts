import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable ASCII without spaces, at most 128 characters: safe to echo and to log. */
const ACCEPTED = /^[\x21-\x7e]{1,128}$/;

/** Fastify's genReqId: the caller's X-Request-Id when it is acceptable, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTED.test(given) ? given : randomUUID();
}
