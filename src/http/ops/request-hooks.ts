import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { failure } from '../envelope.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import { REQUEST_ID_HEADER } from './request-id.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered as usual while draining (the probes), rather than turned away with 503. */
    servedWhileDraining?: boolean;
  }
  interface FastifyReply {
    /** What the access log and metrics learn from the response body, set in onSend. */
    opsFacts: OpsFacts | null;
  }
}

interface OpsFacts {
  code: string | undefined;
  reservationId: string | undefined;
  orderId: string | undefined;
}

// Our envelopes put these near the start; only that much of a body is searched.
const SCANNED_CHARS = 400;
const CODE = /"code":"([A-Z_]+)"/;
const RESERVATION_ID = /"reservationId":"([^"]{1,128})"/;
const ORDER_ID = /"orderId":"([^"]{1,128})"/;

function factsOf(payload: unknown): OpsFacts | null {
  if (typeof payload !== 'string') return null;
  const head = payload.length > SCANNED_CHARS ? payload.slice(0, SCANNED_CHARS) : payload;
  return { code: CODE.exec(head)?.[1], reservationId: RESERVATION_ID.exec(head)?.[1], orderId: ORDER_ID.exec(head)?.[1] };
}

export interface RequestHookOptions {
  readiness: Readiness;
  accessLog: boolean;
  metrics: Metrics | undefined;
}

/**
 * The hooks every request passes: its id echoed, the drain's Connection: close and 503, one
 * access line and the metrics. Callback hooks, not async ones: they run on every request, and a
 * promise per hook shows at flash-sale rates.
 */
export function registerRequestHooks(app: FastifyInstance, { readiness, accessLog, metrics }: RequestHookOptions): void {
  const observing = accessLog || metrics !== undefined;
  app.decorateReply('opsFacts', null);
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    // Responses finished while draining end their keep-alive socket, so the drain is not held open by it.
    if (readiness.draining) reply.header('connection', 'close');
    if (observing) reply.opsFacts = factsOf(payload);
    done(null, payload);
  });
  // A request that had not reached its handler when the drain began is turned away, in the envelope.
  app.addHook('preHandler', (request, reply, done) => {
    if (!readiness.draining || request.routeOptions.config.servedWhileDraining) return done();
    void reply
      .code(503)
      .headers({ 'retry-after': '1', connection: 'close' })
      .send(failure(503, 'SERVICE_UNAVAILABLE', 'The server is shutting down; retry shortly'));
  });
  if (!observing) return;
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const facts = reply.opsFacts;
    if (metrics) {
      const replayed = reply.getHeader('idempotent-replayed') === 'true';
      metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000, facts?.code, replayed);
    }
    if (accessLog) logAccess(request, reply, route, facts);
    done();
  });
}

function logAccess(request: FastifyRequest, reply: FastifyReply, route: string, facts: OpsFacts | null): void {
  const params = request.params as { reservationId?: string; orderId?: string } | undefined;
  const reservationId = facts?.reservationId ?? params?.reservationId;
  const orderId = facts?.orderId ?? params?.orderId;
  request.log.info(
    {
      method: request.method,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(facts?.code !== undefined && reply.statusCode >= 400 ? { code: facts.code } : {}),
      ...(reservationId !== undefined ? { reservationId } : {}),
      ...(orderId !== undefined ? { orderId } : {}),
    },
    'request',
  );
}
