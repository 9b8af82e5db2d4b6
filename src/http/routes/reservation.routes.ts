import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../domain/errors.js';
import type { CancelledReservation, ReserveResult } from '../../services/reservation.service.js';
import { viewerOf } from '../auth/auth-hooks.js';
import { ok } from '../envelope.js';
import { BODY_LIMITS } from '../json-body.js';
import { presentReservation } from '../presenters.js';
import { userPrincipal, type RouteDeps } from '../route-deps.js';
import { Envelope } from '../schemas/common.schema.js';
import { refusals } from '../schemas/error.schema.js';
import {
  ReservationActionBody,
  ReservationParams,
  ReservationView,
  ReserveBody,
} from '../schemas/reservation.schema.js';

function linesOf(body: ReserveBody) {
  const single = body.sku !== undefined || body.quantity !== undefined;
  if (single && body.items !== undefined) throw shapeError('send either sku and quantity, or items, not both');
  if (body.items) return body.items;
  if (body.sku === undefined) throw shapeError('sku is required (or send items)', 'sku');
  // The seed's clients reserve one unit without naming a quantity.
  return [{ sku: body.sku, quantity: body.quantity ?? 1 }];
}

const shapeError = (message: string, field = 'items') =>
  new DomainError('VALIDATION_ERROR', message, { errors: [{ field, message }] });

export const reservationRoutes =
  (deps: RouteDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/inventory/reserve',
      {
        bodyLimit: BODY_LIMITS.reserve,
        schema: {
          tags: ['reservations'],
          body: ReserveBody,
          response: {
            200: Envelope(ReservationView, 'You already hold an identical live reservation: it, with isIdempotent true'),
            201: Envelope(ReservationView, 'Reserved'),
            ...refusals({
              400: ['VALIDATION_ERROR', 'INSUFFICIENT_INVENTORY', 'PURCHASE_LIMIT_EXCEEDED'],
              404: ['PRODUCT_NOT_FOUND'],
              409: ['RESERVATION_CONFLICT'],
            }),
          },
        },
      },
      async (request, reply) => {
        const { userId } = request.body;
        const lines = linesOf(request.body);
        return deps.respond<ReserveResult>(
          request,
          reply,
          userPrincipal(userId),
          (afterEffect) => deps.reservations.reserve({ userId, lines }, afterEffect),
          ({ reservation, replayed }) => {
            const view = presentReservation(reservation, deps.clock.now(), replayed);
            return replayed
              ? { statusCode: 200, payload: ok(200, 'You already hold this reservation', view) }
              : { statusCode: 201, payload: ok(201, 'Inventory reserved', view) };
          },
        );
      },
    );

    app.get(
      '/reservation/:reservationId',
      {
        schema: {
          tags: ['reservations'],
          params: ReservationParams,
          response: { 200: Envelope(ReservationView), ...refusals({ 400: ['VALIDATION_ERROR'], 404: ['RESERVATION_NOT_FOUND'] }) },
        },
      },
      async (request) => {
        const reservation = await deps.reservations.get(request.params.reservationId, viewerOf(request));
        const message = reservation.status === 'EXPIRED' ? 'Reservation has expired' : 'Reservation retrieved';
        return ok(200, message, presentReservation(reservation, deps.clock.now()));
      },
    );

    app.post(
      '/inventory/reserve/cancel',
      {
        bodyLimit: BODY_LIMITS.ids,
        schema: {
          tags: ['reservations'],
          body: ReservationActionBody,
          response: {
            200: Envelope(ReservationView, 'Cancelled; isIdempotent true when it already was'),
            ...refusals({ 400: ['VALIDATION_ERROR', 'RESERVATION_EXPIRED', 'INVALID_STATE'], 403: ['NOT_OWNER'], 404: ['RESERVATION_NOT_FOUND'] }),
          },
        },
      },
      async (request, reply) => {
        const { reservationId, userId } = request.body;
        return deps.respond<CancelledReservation>(
          request,
          reply,
          userPrincipal(userId),
          (afterEffect) => deps.reservations.cancel(reservationId, userId, afterEffect),
          ({ reservation, repeated }) => ({
            statusCode: 200,
            payload: ok(200, repeated ? 'Reservation already cancelled' : 'Reservation cancelled', presentReservation(reservation, deps.clock.now(), repeated)),
          }),
        );
      },
    );
  };
