import type { FastifyInstance } from 'fastify';
import { DomainError } from '../domain/errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Body limits, in bytes, set on each route: each fits the largest body its schema accepts (ids
 * and names written entirely as \u escapes included) with room to spare, and refuses anything
 * larger before it is read. The worst accepted bodies and their cost are in docs/SECURITY.md.
 */
export const BODY_LIMITS = {
  /** POST /inventory/reserve: up to 50 lines. */
  reserve: 32 * 1024,
  /** Bodies of ids and names: cancel, confirm, checkout cancel, product creation. */
  ids: 8 * 1024,
  /** Bodies of one number or word: restock, adjust, payment. */
  counts: 1024,
} as const;
/** Routes that do not set their own limit (none take a body today). */
export const DEFAULT_BODY_LIMIT = BODY_LIMITS.reserve;

/** The deepest nesting any body schema allows: a reserve is an object of an array of objects. */
export const MAX_JSON_DEPTH = 3;

/**
 * Whether `json` opens more than `max` objects or arrays inside one another. A cheap scan of the
 * raw text, run before JSON.parse: deep nesting is what makes a small body expensive to parse and
 * to walk, and no schema here accepts it. Stops at the first level too deep; tolerates invalid
 * JSON (the parser refuses that next).
 */
export function nestsDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      i++;
      while (i < json.length && json.charCodeAt(i) !== QUOTE) i += json.charCodeAt(i) === BACKSLASH ? 2 : 1;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * The first object key that appears twice in one object of `json`, which must already be valid
 * JSON. JSON.parse keeps the last copy silently, while a proxy, a WAF or a log may read the
 * first: a body like {"userId":"a","userId":"b"} means different things to different readers.
 */
export function findDuplicateKey(json: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (json.charCodeAt(end) !== QUOTE) {
        if (json.charCodeAt(end) === BACKSLASH) {
          escaped = true;
          end++;
        }
        end++;
      }
      if (expectKey) {
        // "a" and "\u0061" are the same key.
        const key = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
        const keys = open[open.length - 1] as Set<string>;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] instanceof Set;
    }
  }
  return undefined;
}

/**
 * The key that made the parser refuse valid JSON (prototype poisoning: a `__proto__` key, or a
 * `constructor` key holding `prototype`), so the refusal can name it; undefined for invalid JSON.
 */
export function findPoisonedKey(json: string): string | undefined {
  let poisoned: string | undefined;
  try {
    JSON.parse(json, function (this: Record<string, unknown>, key, value: unknown) {
      if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)) poisoned ??= key;
      return value;
    });
  } catch {
    return undefined;
  }
  return poisoned;
}

/**
 * Fastify's own JSON parser (prototype-poisoning refused, naming the key), after a refusal of
 * nesting deeper than any schema allows, and before a refusal of duplicate keys.
 */
export function useStrictJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) {
      const message = `the JSON body nests objects and arrays more than ${MAX_JSON_DEPTH} deep`;
      return done(new DomainError('VALIDATION_ERROR', message, { errors: [{ field: '(body)', message: 'nested too deep' }] }));
    }
    parseJson(request, body as string, (err, value) => {
      const poisoned = err ? findPoisonedKey(body as string) : undefined;
      if (poisoned !== undefined) {
        const message = `the JSON body has a "${poisoned}" key, which is refused: it could rewrite object prototypes`;
        return done(new DomainError('VALIDATION_ERROR', message, { errors: [{ field: poisoned, message: 'is not allowed as a key' }] }));
      }
      if (err) return done(err);
      const duplicate = findDuplicateKey(body as string);
      if (duplicate === undefined) return done(null, value);
      const message = `the JSON body names "${duplicate}" more than once`;
      done(new DomainError('VALIDATION_ERROR', message, { errors: [{ field: duplicate, message: 'appears more than once' }] }));
    });
  });
}
