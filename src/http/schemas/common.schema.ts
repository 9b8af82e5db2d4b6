import { Type, type TSchema } from '@sinclair/typebox';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../services/pagination.js';

// Ids and names are free text, but control characters (NUL and friends) and lone UTF-16
// surrogates (which no store can keep as sent) never belong in one.
export const PRINTABLE = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$';

export const UserId = Type.String({ minLength: 1, maxLength: 128, pattern: PRINTABLE, description: 'Your shopper id' });
export const EntityId = Type.String({ minLength: 1, maxLength: 128, pattern: PRINTABLE });
export const SkuInput = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: PRINTABLE,
  description: 'Case-insensitive; stored upper-cased, must match ^[A-Z0-9][A-Z0-9_-]{0,63}$',
});
export const Quantity = Type.Integer({ minimum: 1, maximum: 10_000 });

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' })),
  },
  { additionalProperties: false },
);

export const PageMeta = Type.Object({
  limit: Type.Integer(),
  nextCursor: Type.Optional(Type.String()),
});

export const LineItemView = Type.Object({
  sku: Type.String(),
  quantity: Type.Integer(),
  unitPrice: Type.Number(),
});

/** The success envelope every route answers with. */
export const Envelope = <T extends TSchema>(data: T) =>
  Type.Object({
    success: Type.Literal(true),
    statusCode: Type.Integer(),
    message: Type.String(),
    data,
  });

export const PagedEnvelope = <T extends TSchema>(item: T) =>
  Type.Object({
    success: Type.Literal(true),
    statusCode: Type.Integer(),
    message: Type.String(),
    data: Type.Array(item),
    meta: PageMeta,
  });

export const ErrorEnvelope = Type.Object({
  success: Type.Literal(false),
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
