import type { FastifyInstance } from 'fastify';
import { DomainError } from '../domain/errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

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

/** Fastify's own JSON parser (prototype-poisoning refused), plus a refusal of duplicate keys. */
export function useStrictJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (err, value) => {
      if (err) return done(err);
      const duplicate = findDuplicateKey(body as string);
      if (duplicate === undefined) return done(null, value);
      const message = `the JSON body names "${duplicate}" more than once`;
      done(new DomainError('VALIDATION_ERROR', message, { errors: [{ field: duplicate, message: 'appears more than once' }] }));
    });
  });
}
