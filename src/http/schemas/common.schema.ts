import { Type, type TSchema } from '@sinclair/typebox';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../services/pagination.js';

// Names are free text, but control characters (C0, DEL, C1) and lone UTF-16 surrogates (which
// no store can keep as sent) never belong in one.
export const PRINTABLE = '^[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]+$';

// Ids are compared, logged and shown to operators: besides controls and lone surrogates they may
// not carry characters that make two different ids look alike or reorder the text around them:
// bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), zero-width characters
// (U+200B-U+200D, U+2060), the BOM (U+FEFF) and the line and paragraph separators (U+2028, U+2029).
const ID_FORBIDDEN = '\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200d\\u2028-\\u202e\\u2060\\u2066-\\u2069\\ufeff\\ud800-\\udfff';
export const ID_TEXT = `^[^${ID_FORBIDDEN}]+$`;
export const MAX_ID_LENGTH = 128;
const ID_PATTERN = new RegExp(`^[^${ID_FORBIDDEN}]{1,${MAX_ID_LENGTH}}$`, 'u');

/** The userId rule of the schemas, for code that must judge one before validation (the rate limiter's key, a token's sub). */
export const isValidUserId = (value: string): boolean =>
  // Two UTF-16 units per character at most: a longer string cannot pass, and is not scanned.
  value.length <= 2 * MAX_ID_LENGTH && ID_PATTERN.test(value);

export const UserId = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: ID_TEXT, description: 'Your shopper id' });
export const EntityId = Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: ID_TEXT });
// ASCII only: upper-casing other scripts folds distinct strings together ("ſ" becomes "S").
export const SkuText = '^[\\x20-\\x7e]+$';
export const SkuInput = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: SkuText,
  description: 'ASCII, case-insensitive; stored upper-cased, must match ^[A-Z0-9][A-Z0-9_-]{0,63}$',
});
export const Quantity = Type.Integer({ minimum: 1, maximum: 10_000 });

/** The Idempotency-Key, for clients that send it in the body; the header is the usual place. */
export const IdempotencyKeyField = Type.Optional(
  Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: 'Alias of the Idempotency-Key header' }),
);

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
    cursor: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' })),
  },
  { additionalProperties: false },
);

export const PageMeta = Type.Object(
  {
    limit: Type.Integer(),
    nextCursor: Type.Optional(Type.String({ description: 'Pass as cursor for the next page; absent on the last page' })),
  },
  { additionalProperties: false },
);

export const LineItemView = Type.Object(
  {
    sku: Type.String(),
    quantity: Type.Integer(),
    unitPrice: Type.Number({ description: 'The price when reserved' }),
  },
  { additionalProperties: false },
);

/** The success envelope every route answers with. */
export const Envelope = <T extends TSchema>(data: T, description?: string) =>
  Type.Object(
    {
      success: Type.Literal(true),
      statusCode: Type.Integer(),
      message: Type.String(),
      data,
    },
    { additionalProperties: false, ...(description ? { description } : {}) },
  );

export const PagedEnvelope = <T extends TSchema>(item: T) =>
  Type.Object(
    {
      success: Type.Literal(true),
      statusCode: Type.Integer(),
      message: Type.String(),
      data: Type.Array(item),
      meta: PageMeta,
    },
    { additionalProperties: false },
  );
