import { Type, type Static } from '@sinclair/typebox';
import { EntityId, IdempotencyKeyField, LineItemView, Quantity, SkuInput, UserId } from './common.schema.js';

const NullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const ReservationView = Type.Object(
  {
    reservationId: Type.String(),
    userId: Type.String(),
    status: Type.String(),
    items: Type.Array(LineItemView),
    sku: Type.Optional(Type.String()),
    quantity: Type.Optional(Type.Integer()),
    totalPrice: Type.Number(),
    expiresAt: Type.String({ format: 'date-time' }),
    expiresIn: Type.Integer({ description: 'Milliseconds left while RESERVED; 0 otherwise' }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    confirmedAt: NullableTime,
    cancelledAt: NullableTime,
    expiredAt: NullableTime,
    isIdempotent: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ReserveBody = Type.Object(
  {
    userId: UserId,
    sku: Type.Optional(SkuInput),
    quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Defaults to 1' })),
    items: Type.Optional(
      Type.Array(Type.Object({ sku: SkuInput, quantity: Quantity }, { additionalProperties: false }), {
        minItems: 1,
        maxItems: 50,
      }),
    ),
    idempotencyKey: IdempotencyKeyField,
  },
  { additionalProperties: false, description: 'Either sku (and quantity, 1 if left out), or items' },
);
export type ReserveBody = Static<typeof ReserveBody>;

export const ReservationActionBody = Type.Object(
  { reservationId: EntityId, userId: UserId, idempotencyKey: IdempotencyKeyField },
  { additionalProperties: false },
);
export type ReservationActionBody = Static<typeof ReservationActionBody>;

export const ReservationParams = Type.Object({ reservationId: EntityId });
