import { Type, type Static } from '@sinclair/typebox';
import { EntityId, IdempotencyKeyField, LineItemView, UserId } from './common.schema.js';

const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const OrderView = Type.Object(
  {
    orderId: Type.String(),
    reservationId: Type.String(),
    userId: Type.String(),
    items: Type.Array(LineItemView),
    sku: Type.Optional(Type.String()),
    quantity: Type.Optional(Type.Integer()),
    totalPrice: Type.Number(),
    status: Type.String(),
    paymentStatus: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    cancelledAt: NullableTime,
    completedAt: NullableTime,
    isIdempotent: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const CheckoutCancelBody = Type.Object(
  {
    orderId: Type.Optional(EntityId),
    reservationId: Type.Optional(EntityId),
    userId: UserId,
    idempotencyKey: IdempotencyKeyField,
  },
  { additionalProperties: false, description: 'Exactly one of orderId or reservationId' },
);
export type CheckoutCancelBody = Static<typeof CheckoutCancelBody>;

export const OrderParams = Type.Object({ orderId: EntityId });

export const PaymentBody = Type.Object(
  { status: Type.Union([Type.Literal('SUCCESS'), Type.Literal('FAILED')]), idempotencyKey: IdempotencyKeyField },
  { additionalProperties: false },
);
export type PaymentBody = Static<typeof PaymentBody>;
