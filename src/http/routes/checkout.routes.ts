import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { DomainError } from '../../domain/errors.js';
import type { Order } from '../../domain/types.js';
import type { CancelCheckoutResult, CancelCheckoutTarget, ConfirmResult } from '../../services/checkout.service.js';
import { viewerOf } from '../auth/auth-hooks.js';
import { ok } from '../envelope.js';
import { BODY_LIMITS } from '../json-body.js';
import { presentOrder, presentReservation } from '../presenters.js';
import { routePrincipal, userPrincipal, type RouteDeps } from '../route-deps.js';
import { Envelope } from '../schemas/common.schema.js';
import { refusals } from '../schemas/error.schema.js';
import { CheckoutCancelBody, OrderParams, OrderView, PaymentBody } from '../schemas/order.schema.js';
import { ReservationActionBody, ReservationView } from '../schemas/reservation.schema.js';

function cancelTarget(body: CheckoutCancelBody): CancelCheckoutTarget {
  if ((body.orderId === undefined) === (body.reservationId === undefined)) {
    const message = 'send exactly one of orderId or reservationId';
    throw new DomainError('VALIDATION_ERROR', message, { errors: [{ field: 'orderId', message }] });
  }
  return body.orderId !== undefined ? { orderId: body.orderId } : { reservationId: body.reservationId as string };
}

export const checkoutRoutes =
  (deps: RouteDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/checkout/confirm',
      {
        bodyLimit: BODY_LIMITS.ids,
        schema: {
          tags: ['checkout'],
          body: ReservationActionBody,
          response: {
            200: Envelope(OrderView, 'The reservation was already confirmed: its order, with isIdempotent true'),
            201: Envelope(OrderView, 'Confirmed: the new order'),
            ...refusals({ 400: ['VALIDATION_ERROR', 'RESERVATION_EXPIRED', 'INVALID_STATE'], 403: ['NOT_OWNER'], 404: ['RESERVATION_NOT_FOUND'] }),
          },
        },
      },
      async (request, reply) => {
        const { reservationId, userId } = request.body;
        return deps.respond<ConfirmResult>(
          request,
          reply,
          userPrincipal(userId),
          (afterEffect) => deps.checkout.confirm(reservationId, userId, afterEffect),
          ({ order, replayed }) =>
            replayed
              ? { statusCode: 200, payload: ok(200, 'Order already confirmed', presentOrder(order, true)) }
              : { statusCode: 201, payload: ok(201, 'Checkout confirmed', presentOrder(order, false)) },
        );
      },
    );

    app.post(
      '/checkout/cancel',
      {
        bodyLimit: BODY_LIMITS.ids,
        schema: {
          tags: ['checkout'],
          body: CheckoutCancelBody,
          response: {
            200: Envelope(Type.Union([OrderView, ReservationView]), 'Cancelled (isIdempotent true when it already was): the order, or the open reservation'),
            ...refusals({
              400: ['VALIDATION_ERROR', 'RESERVATION_EXPIRED', 'INVALID_STATE'],
              403: ['NOT_OWNER'],
              404: ['RESERVATION_NOT_FOUND', 'ORDER_NOT_FOUND'],
            }),
          },
        },
      },
      async (request, reply) => {
        const target = cancelTarget(request.body);
        const { userId } = request.body;
        return deps.respond<CancelCheckoutResult>(
          request,
          reply,
          userPrincipal(userId),
          (afterEffect) => deps.checkout.cancel(target, userId, afterEffect),
          (result) => {
            const already = result.repeated ? ' already' : '';
            return result.kind === 'order'
              ? { statusCode: 200, payload: ok(200, `Order${already} cancelled`, presentOrder(result.order, result.repeated)) }
              : {
                  statusCode: 200,
                  payload: ok(200, `Reservation${already} cancelled`, presentReservation(result.reservation, deps.clock.now(), result.repeated)),
                };
          },
        );
      },
    );

    app.get(
      '/order/:orderId',
      { schema: { tags: ['orders'], params: OrderParams, response: { 200: Envelope(OrderView), ...refusals({ 400: ['VALIDATION_ERROR'], 404: ['ORDER_NOT_FOUND'] }) } } },
      async (request) => ok(200, 'Order retrieved', presentOrder(await deps.checkout.getOrder(request.params.orderId, viewerOf(request)))),
    );

    app.post(
      '/order/:orderId/payment',
      {
        bodyLimit: BODY_LIMITS.counts,
        // The payment provider's callback arrives through the storefront backend, never a shopper.
        config: { access: 'staff' },
        schema: {
          tags: ['orders'],
          params: OrderParams,
          body: PaymentBody,
          response: { 200: Envelope(OrderView), ...refusals({ 400: ['VALIDATION_ERROR', 'INVALID_STATE'], 404: ['ORDER_NOT_FOUND'] }) },
        },
      },
      async (request, reply) => {
        const { orderId } = request.params;
        return deps.respond<Order>(
          request,
          reply,
          routePrincipal(request),
          (afterEffect) => deps.checkout.recordPayment(orderId, request.body.status, afterEffect),
          (order) => ({ statusCode: 200, payload: ok(200, `Payment ${request.body.status} recorded`, presentOrder(order)) }),
        );
      },
    );
  };
