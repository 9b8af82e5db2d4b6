import { Ajv } from 'ajv';
import type { FastifySchema, FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated strictly: "1" is not a quantity and unknown fields are refused, not
 * silently dropped. Query strings and path params are text on the wire, so they are coerced.
 */
export function makeValidatorCompiler(): FastifySchemaCompiler<FastifySchema> {
  const common = { removeAdditional: false, allErrors: false, strict: false, useDefaults: true } as const;
  const bodyAjv = new Ajv({ ...common, coerceTypes: false });
  const textAjv = new Ajv({ ...common, coerceTypes: true });
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema as object);
}
