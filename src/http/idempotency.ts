import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, isDomainError } from '../domain/errors.js';
import type { IdempotencyService } from '../services/idempotency.service.js';
import type { AfterEffect } from '../services/unit-of-work.js';
import type { SuccessEnvelope } from './envelope.js';
import { toErrorResponse } from './error-mapping.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Where clients written for other services put the key: the same key, the same semantics. */
const ALIAS_HEADER = 'x-idempotency-key';
const BODY_FIELD = 'idempotencyKey';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

export interface Rendered {
  statusCode: number;
  payload: SuccessEnvelope<unknown>;
}

/** JSON with sorted keys, so the same body hashes the same whatever order its fields came in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The path a request named, without its query string: /order/42/payment, not the route's template. */
export const concretePath = (request: FastifyRequest): string => request.url.split('?')[0] ?? request.url;

const hashBody = (body: unknown): string => createHash('sha256').update(canonicalJson(body ?? null)).digest('hex');

/** The body as the request is identified: without the key itself, wherever the client sent it. */
function withoutKeyField(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || !(BODY_FIELD in body)) return body;
  const { [BODY_FIELD]: _key, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * The request's key from the Idempotency-Key header, its X-Idempotency-Key alias or the body's
 * idempotencyKey field. One key per request: places that disagree are refused, not guessed at.
 */
export function idempotencyKeyOf(request: FastifyRequest): unknown {
  const bodyKey = (request.body as Record<string, unknown> | null | undefined)?.[BODY_FIELD];
  const sent = [request.headers[IDEMPOTENCY_HEADER], request.headers[ALIAS_HEADER], bodyKey].filter((key) => key !== undefined);
  if (new Set(sent.map((key) => JSON.stringify(key))).size > 1) {
    const message = 'Idempotency-Key, X-Idempotency-Key and idempotencyKey carry different keys; send one key';
    throw new DomainError('VALIDATION_ERROR', message, { errors: [{ field: 'Idempotency-Key', message: 'differs from another key in the request' }] });
  }
  return sent[0];
}

/**
 * Runs a POST with Stripe's Idempotency-Key semantics: the first response is stored in the same
 * transaction as its effect and replayed byte for byte, with `Idempotent-Replayed: true`.
 * Without the header the use case simply runs.
 */
export function makeIdempotentResponder(service: IdempotencyService) {
  return async function respond<R>(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: string,
    execute: (afterEffect?: AfterEffect<NoInfer<R>>) => Promise<R>,
    render: (result: NoInfer<R>) => Rendered,
  ): Promise<FastifyReply> {
    const header = idempotencyKeyOf(request);
    if (header === undefined) {
      let result: R;
      try {
        result = await execute();
      } catch (err) {
        // A business refusal is answered here rather than through Fastify's error path, which costs
        // about 5% of a sold-out storm's throughput (all refusals). Faults still go there, to be logged.
        const refusal = isDomainError(err) ? toErrorResponse(err) : null;
        if (!refusal || refusal.payload.statusCode >= 500) throw err;
        return reply.code(refusal.payload.statusCode).headers(refusal.headers).send(refusal.payload);
      }
      const { statusCode, payload } = render(result);
      return reply.code(statusCode).send(payload);
    }
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw new DomainError('VALIDATION_ERROR', 'Idempotency-Key must be 1 to 255 printable ASCII characters', {
        errors: [{ field: 'Idempotency-Key', message: 'invalid header' }],
      });
    }
    const key = header;
    const begun = await service.begin({
      principal,
      key,
      method: request.method,
      path: concretePath(request),
      requestHash: hashBody(withoutKeyField(request.body)),
    });
    if (begun.kind === 'replay') {
      return reply.code(begun.statusCode).header('idempotent-replayed', 'true').type(JSON_TYPE).send(begun.body);
    }

    let stored: { statusCode: number; body: string } | undefined;
    try {
      await execute(async (tx, result) => {
        const { statusCode, payload } = render(result);
        reply.code(statusCode);
        // Serialised once with the route's own schema; these exact bytes are stored and sent.
        stored = { statusCode, body: reply.serialize(payload) as string };
        await service.complete(tx, principal, key, statusCode, stored.body);
      });
    } catch (err) {
      // A business refusal is the request's answer and is kept; invalid input and failures free the key.
      const answer = isDomainError(err) && err.code !== 'VALIDATION_ERROR' ? toErrorResponse(err) : null;
      const refusal = answer ? { statusCode: answer.payload.statusCode, body: JSON.stringify(answer.payload) } : null;
      await service.finishWithoutEffect(principal, key, refusal);
      if (!refusal) throw err;
      return reply.code(refusal.statusCode).type(JSON_TYPE).send(refusal.body);
    }
    if (!stored) throw new Error('idempotent use case finished without rendering a response');
    return reply.code(stored.statusCode).type(JSON_TYPE).send(stored.body);
  };
}

export type IdempotentResponder = ReturnType<typeof makeIdempotentResponder>;
