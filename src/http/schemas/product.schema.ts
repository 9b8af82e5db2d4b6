import { Type, type Static } from '@sinclair/typebox';
import { IdempotencyKeyField, PRINTABLE, SkuInput, SkuText } from './common.schema.js';

export const ProductView = Type.Object(
  {
    sku: Type.String(),
    productName: Type.String(),
    price: Type.Number(),
    totalQuantity: Type.Integer({ description: 'Units on hand: not yet sold (includes reserved units)' }),
    availableQuantity: Type.Integer({ description: 'totalQuantity - reservedQuantity' }),
    reservedQuantity: Type.Integer(),
    soldQuantity: Type.Integer(),
    maxPerUser: Type.Union([Type.Integer(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

const StockCount = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

export const CreateProductBody = Type.Object(
  {
    sku: SkuInput,
    productName: Type.String({ minLength: 1, maxLength: 200, pattern: PRINTABLE }),
    totalQuantity: Type.Optional(StockCount),
    quantity: Type.Optional(Type.Integer({ ...StockCount, description: 'Alias of totalQuantity' })),
    price: Type.Number({ minimum: 0, description: 'Decimal, at most two places: 1299.99' }),
    maxPerUser: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    idempotencyKey: IdempotencyKeyField,
  },
  {
    additionalProperties: false,
    description: 'availableQuantity, reservedQuantity and soldQuantity are derived, not set: a body naming one is a 400 that says so',
  },
);
export type CreateProductBody = Static<typeof CreateProductBody>;

export const UpdateProductBody = Type.Object(
  {
    productName: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: PRINTABLE })),
    price: Type.Optional(Type.Number({ minimum: 0, description: 'Decimal, at most two places; live reservations keep their price' })),
    maxPerUser: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()], { description: 'null lifts the limit' })),
    idempotencyKey: IdempotencyKeyField,
  },
  { additionalProperties: false, description: 'At least one of productName, price and maxPerUser; what is left out stays' },
);
export type UpdateProductBody = Static<typeof UpdateProductBody>;

export const RestockBody = Type.Object(
  { quantity: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Units received' }), idempotencyKey: IdempotencyKeyField },
  { additionalProperties: false },
);
export type RestockBody = Static<typeof RestockBody>;

export const AdjustBody = Type.Object(
  {
    delta: Type.Integer({
      minimum: -1_000_000_000,
      maximum: 1_000_000_000,
      description: 'Units to add (positive) or remove (negative) from those on hand; reserved units cannot be removed',
    }),
    idempotencyKey: IdempotencyKeyField,
  },
  { additionalProperties: false },
);
export type AdjustBody = Static<typeof AdjustBody>;

export const SkuParams = Type.Object({ sku: Type.String({ minLength: 1, maxLength: 64, pattern: SkuText }) });

export const MovementView = Type.Object(
  {
    id: Type.Integer(),
    sku: Type.String(),
    reason: Type.String(),
    deltaOnHand: Type.Integer(),
    deltaReserved: Type.Integer(),
    deltaSold: Type.Integer(),
    refId: Type.Union([Type.String(), Type.Null()]),
    at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);
