import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { BODY_LIMITS } from '../../src/http/json-body.js';
import { get, post, startTestApp, TEST_STORE, type TestApp } from '../helpers/test-app.js';

/**
 * HTTP fuzzing (issue 5, "Hostile input"): random and adversarial bodies, headers, paths and
 * query strings for every route. Properties:
 * - every answer is a 2xx or a 4xx, never a 5xx, and its body is JSON;
 * - a 4xx is the error envelope {success:false, statusCode, error, code}; a 2xx is {success:true};
 * - input that can never be valid (prototype keys, unknown fields, wrong types, control characters
 *   in ids, wrong content types, empty, deep or broken bodies, bad Idempotency-Keys) gets a 4xx;
 * - a 4xx changes nothing: every product counter (and updatedAt), the ledgers of the fixture skus and the
 *   fixture reservations and order are the same before and after the request.
 * Duplicate JSON keys, malformed percent-escapes and over-long path ids have tests of their own at
 * the end, not the main properties.
 */

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? (TEST_STORE === 'postgres' ? 60 : 150));
// Text with NUL is refused at the edge, so it never reaches a store (PostgreSQL cannot keep it):
// the main properties send it everywhere.

const OWNER = 'fz-owner';
const GHOST = '00000000-0000-7000-8000-000000000000';
const FIXTURE_SKUS = ['FZ-A', 'FZ-B'] as const;

interface Fixtures {
  openReservation: string;
  confirmedReservation: string;
  order: string;
}

// ---- the JSON text generators ------------------------------------------------------------------

/** A JSON value as a tree of raw text, so keys (including duplicates and escaped ones) survive rendering. */
type Node = { raw: string } | { arr: Node[] } | { obj: Array<[string, Node]> };

const render = (node: Node): string =>
  'raw' in node
    ? node.raw
    : 'arr' in node
      ? `[${node.arr.map(render).join(',')}]`
      : `{${node.obj.map(([k, v]) => `${k}:${render(v)}`).join(',')}}`;

const decodeKey = (rawKey: string): string => JSON.parse(rawKey) as string;
const HOSTILE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// What an id may not contain: controls (C0, DEL, C1), bidi controls, zero-width characters, the BOM, U+2028/U+2029.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200d\u2028-\u202e\u2060\u2066-\u2069\ufeff]/;

function visit(node: Node, onObject: (keys: string[]) => void): void {
  if ('arr' in node) node.arr.forEach((n) => visit(n, onObject));
  if ('obj' in node) {
    onObject(node.obj.map(([k]) => decodeKey(k)));
    node.obj.forEach(([, v]) => visit(v, onObject));
  }
}

const raw = (text: string): Node => ({ raw: text });

const LONE_SURROGATES = ['"\\ud800"', '"a\\udfff"', '"\\ud83d"', '"\\udc00b"'];
const hostileStringText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 24 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    '"NaN"', '"Infinity"', '"-Infinity"', '"1"', '"0x10"', '" 1"', '"1e3"', '""', '" "', '"null"', '"true"',
    '"\\u0000"', '"A\\u0000"', '"\\u0000FZ-A"', '"FZ-A\\u0000"', '"\\t"', '"\\u007f"', '"\\u202eevil"', '"\\ufeffFZ-A"',
    '"ſ"', '"ı"', '"ﬀ"', '"K"', '"fz-a"', '" FZ-A "', '"__proto__"', '"constructor"', '"SUCCESS "', '"success"',
    '"😀"', '"\\u2028"', '"\\ufffe"', '"%00"', '"../../etc/passwd"', "\"'; DROP TABLE products; --\"",
    ...LONE_SURROGATES,
  ),
  fc.constantFrom(64, 65, 128, 129, 200, 201, 10_000).map((n) => JSON.stringify('A'.repeat(n))),
);
const hostileNumberText = fc.oneof(
  fc.constantFrom(
    '1e308', '-1e308', '1e309', '-1e309', '-0', '0', '-0.0', '1', '2', '3', '9007199254740993', '9007199254740992',
    '1e-400', '0.1', '1.5', '1.005', '4.35', '-1', '10000', '10001', '1E2', '1.0', '1e0', '100000000000000000000000',
    '99999999.99', '99999999.999', '1000000000', '1000000001', '1000000', '1000001',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  fc.integer().map(String),
);
const hostileKeyText = fc.oneof(
  fc.constantFrom('"__proto__"', '"constructor"', '"prototype"', '"__pro\\u0074o__"', '"\\u005f_proto__"', '"constructo\\u0072"'),
  fc.string({ unit: 'binary', maxLength: 10 }).map((s) => JSON.stringify(s)),
);
const scalarNode: fc.Arbitrary<Node> = fc
  .oneof(hostileStringText, hostileNumberText, fc.constantFrom('null', 'true', 'false', '[]', '{}'))
  .map(raw);

/** Any JSON value, a few levels deep, with hostile keys among the random ones. */
const { value: valueNode } = fc.letrec<{ value: Node; arr: Node; obj: Node }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarNode, tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 3 }).map((arr) => ({ arr })),
  obj: fc
    .array(fc.tuple(hostileKeyText, tie('value')), { maxLength: 3 })
    .map((entries) => ({ obj: entries.map(([k, v]) => [k, v] as [string, Node]) })),
}));

const deepArrays = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObjects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepNode = fc
  .constantFrom(64, 1_000, 10_000)
  .chain((depth) => fc.constantFrom(raw(deepArrays(depth)), raw(deepObjects(depth))));

// ---- fields of each route ------------------------------------------------------------------------

type Kind = 'id' | 'sku' | 'text' | 'count' | 'price' | 'limit' | 'status' | 'items';

interface Field {
  name: string;
  kind: Kind;
  required: boolean;
  valid: fc.Arbitrary<string>;
}

/** What the value of a field decodes to says whether it can ever be valid there. */
function fieldTags(kind: Kind, text: string): Tag[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return ['wrongType'];
  }
  const isString = typeof value === 'string';
  switch (kind) {
    case 'id':
      if (!isString) return ['wrongType'];
      return CONTROL_CHARS.test(value as string) ? ['controlInId'] : [];
    case 'sku':
    case 'text':
      return isString ? [] : ['wrongType'];
    case 'count':
    case 'price':
      return typeof value === 'number' ? [] : ['wrongType'];
    case 'limit':
      return typeof value === 'number' || value === null ? [] : ['wrongType'];
    case 'status':
      return value === 'SUCCESS' || value === 'FAILED' ? [] : ['wrongType'];
    case 'items':
      return Array.isArray(value) ? [] : ['wrongType'];
  }
}

const str = (...values: string[]) => fc.constantFrom(...values.map((v) => JSON.stringify(v)));

function routes(fx: Fixtures) {
  const userId: Field = { name: 'userId', kind: 'id', required: true, valid: str(OWNER, 'fz-other', 'fz-u3') };
  const reservationId: Field = {
    name: 'reservationId',
    kind: 'id',
    required: true,
    valid: str(fx.openReservation, fx.confirmedReservation, GHOST),
  };
  const items = fc
    .array(
      fc.tuple(fc.constantFrom('FZ-A', 'fz-b', 'FZ-NONE'), fc.integer({ min: 1, max: 3 })).map(([sku, q]) => `{"sku":"${sku}","quantity":${q}}`),
      { minLength: 1, maxLength: 3 },
    )
    .map((lines) => `[${lines.join(',')}]`);
  return {
    '/inventory': [
      { name: 'sku', kind: 'sku', required: true, valid: str('FZ-A', 'fz-new-1', 'FZ-NEW-2', 'fz-b') },
      { name: 'productName', kind: 'text', required: true, valid: str('Fuzzed thing', 'x') },
      { name: 'totalQuantity', kind: 'count', required: false, valid: fc.constantFrom('0', '1', '5') },
      { name: 'quantity', kind: 'count', required: false, valid: fc.constantFrom('1', '5') },
      { name: 'price', kind: 'price', required: true, valid: fc.constantFrom('10', '0', '12.5', '1299.99') },
      { name: 'maxPerUser', kind: 'limit', required: false, valid: fc.constantFrom('null', '1', '2') },
    ],
    '/inventory/reserve': [
      userId,
      { name: 'sku', kind: 'sku', required: false, valid: str('FZ-A', 'fz-b', 'FZ-NONE') },
      { name: 'quantity', kind: 'count', required: false, valid: fc.constantFrom('1', '2') },
      { name: 'items', kind: 'items', required: false, valid: items },
    ],
    '/inventory/reserve/cancel': [reservationId, userId],
    '/checkout/confirm': [reservationId, userId],
    '/checkout/cancel': [
      { ...reservationId, required: false },
      { name: 'orderId', kind: 'id', required: false, valid: str(fx.order, GHOST) },
      userId,
    ],
    '/order/:id/payment': [{ name: 'status', kind: 'status', required: true, valid: str('SUCCESS', 'FAILED') }],
  } satisfies Record<string, Field[]>;
}

type Tag =
  | 'nonObject'
  | 'hostileKey'
  | 'unknownKey'
  | 'dupKey'
  | 'wrongType'
  | 'controlInId'
  | 'badContentType'
  | 'emptyBody'
  | 'deep'
  | 'garbage'
  | 'badIdempotencyKey'
  | 'nulInStoredText';

/** Tags that make a request invalid whatever else it carries. dupKey has its own test at the end. */
const MUST_FAIL: ReadonlySet<Tag> = new Set<Tag>([
  'nonObject', 'hostileKey', 'unknownKey', 'wrongType', 'controlInId', 'badContentType', 'emptyBody', 'deep', 'garbage', 'badIdempotencyKey',
]);

interface Body {
  payload: string | Buffer;
  tags: Tag[];
}

const short = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}... (${text.length} chars)` : text);

/** fast-check prints counterexamples in full: a 10,000-level body would bury the report. */
function printedShort<T extends object>(value: T, show: (value: T) => string): T {
  return Object.defineProperty(value, fc.toStringMethod, { value: () => show(value), enumerable: false });
}

const body = (payload: string | Buffer, tags: Tag[]): Body =>
  printedShort({ payload, tags }, (b) =>
    `{payload: ${typeof b.payload === 'string' ? JSON.stringify(short(b.payload)) : `<bytes ${b.payload.toString('hex')}>`}, tags: [${b.tags.join(', ')}]}`,
  );

/**
 * Bodies for a route. `nearValid`: its fields valid, or one of them made hostile or left out, so
 * requests reach the business rules. `any`: every field kept, made hostile or left out, stray and
 * repeated keys, or no object at all.
 */
function bodyArbs(fields: Field[]): { nearValid: fc.Arbitrary<Body>; any: fc.Arbitrary<Body> } {
  const fieldNames = new Set(fields.map((f) => f.name));
  type Entries = Array<[string, Node]>;
  const entry = (f: Field, node: Node): Entries => [[JSON.stringify(f.name), node]];
  const validEntry = (f: Field): fc.Arbitrary<Entries> =>
    f.required
      ? f.valid.map((text) => entry(f, raw(text)))
      : fc.oneof(f.valid.map((text) => entry(f, raw(text))), fc.constant<Entries>([]));
  const hostileEntry = (f: Field): fc.Arbitrary<Entries> =>
    fc.oneof(
      { weight: 6, arbitrary: valueNode.map((node) => entry(f, node)) },
      { weight: 1, arbitrary: deepNode.map((node) => entry(f, node)) },
      { weight: 1, arbitrary: fc.constant<Entries>([]) },
    );
  const anyEntry = (f: Field) => fc.oneof({ weight: 2, arbitrary: validEntry(f) }, { weight: 1, arbitrary: hostileEntry(f) });
  // Near-valid bodies (at most one field made hostile) reach the business rules; free ones mix everything.
  const nearValid = fc
    .tuple(fc.tuple(...fields.map(validEntry)), fc.option(fc.nat(fields.length - 1), { freq: 3 }))
    .chain(([entries, spoil]) => {
      const target = spoil === null ? undefined : fields[spoil];
      if (target === undefined) return fc.constant(entries);
      return hostileEntry(target).map((bad) => entries.map((e, i) => (i === spoil ? bad : e)));
    });
  const free = fc.tuple(...fields.map(anyEntry));
  const objectArb = fc
    .tuple(
      free,
      fc.oneof(
        { weight: 6, arbitrary: fc.constant<Entries>([]) },
        { weight: 1, arbitrary: fc.array(fc.tuple(hostileKeyText, valueNode), { minLength: 1, maxLength: 2 }) },
        // The same field twice: '{"userId":"a","userId":"b"}'.
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...fields), valueNode).map(([f, v]) => entry(f, v)) },
      ),
      fc.nat(1000),
    )
    .map(([entries, extras, seed]): Node => {
      const own = entries.flat();
      // Stray keys go anywhere among the fields, not only last.
      const at = seed % (own.length + 1);
      return { obj: [...own.slice(0, at), ...extras, ...own.slice(at)] };
    });

  const tagsOfObject = (node: Node): Tag[] => {
    const tags = new Set<Tag>();
    visit(node, (keys) => {
      if (keys.some((k) => HOSTILE_KEYS.has(k))) tags.add('hostileKey');
      if (new Set(keys).size !== keys.length) tags.add('dupKey');
    });
    if (!('obj' in node)) return [...tags, 'nonObject'];
    const last = new Map<string, Node>();
    for (const [k, v] of node.obj) {
      const name = decodeKey(k);
      if (!fieldNames.has(name)) tags.add('unknownKey');
      last.set(name, v);
    }
    for (const f of fields) {
      const v = last.get(f.name);
      if (v === undefined) continue;
      for (const tag of fieldTags(f.kind, render(v))) tags.add(tag);
      // productName goes to the store as it is (sku and ids are checked first).
      if (f.name === 'productName' && 'raw' in v && v.raw.includes('\\u0000')) tags.add('nulInStoredText');
    }
    return [...tags];
  };

  const any = fc.oneof(
    { weight: 12, arbitrary: objectArb.map((node) => body(render(node), tagsOfObject(node))) },
    // An array where an object is expected, or any other non-object value.
    { weight: 1, arbitrary: objectArb.map((node) => body(`[${render(node)}]`, ['nonObject'])) },
    { weight: 1, arbitrary: valueNode.filter((n) => !('obj' in n)).map((n) => body(render(n), ['nonObject'])) },
    { weight: 1, arbitrary: deepNode.map((n) => body(render(n), ['deep'])) },
    { weight: 1, arbitrary: fc.constant(null).map(() => body('', ['emptyBody'])) },
    // Broken JSON: truncated, random text, invalid UTF-8.
    {
      weight: 1,
      arbitrary: fc.oneof(
        objectArb.map((node) => body(render(node).slice(0, -1), ['garbage'])),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => body(s, ['garbage'])),
        fc.uint8Array({ minLength: 1, maxLength: 30 }).map((bytes) => body(Buffer.from([0x7b, 0xff, ...bytes]), ['garbage'])),
      ),
    },
  );
  const near = nearValid.map((entries): Node => ({ obj: entries.flat() })).map((node) => body(render(node), tagsOfObject(node)));
  return { nearValid: near, any };
}

// ---- headers ---------------------------------------------------------------------------------

interface Headers {
  headers: Record<string, string>;
  tags: Tag[];
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=UTF-8', 'application/json; charset=latin1'];
const WRONG_TYPES = [
  'text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml',
  'text/html', 'application/octet-stream', 'application/vnd.api+json', 'application/jsonx', 'json', '',
];

const headers = (h: Record<string, string>, tags: Tag[]): Headers =>
  printedShort({ headers: h, tags }, (v) =>
    `{headers: {${Object.entries(v.headers).map(([k, x]) => `${k}: ${JSON.stringify(short(x))}`).join(', ')}}, tags: [${v.tags.join(', ')}]}`,
  );

/** A JSON content type and, sometimes, a valid Idempotency-Key. */
const cleanHeadersArb: fc.Arbitrary<Headers> = fc
  .tuple(fc.constantFrom(...JSON_TYPES), fc.option(fc.stringMatching(/^[\x21-\x7e]{1,40}$/), { freq: 3 }))
  .map(([ct, key]) => headers({ 'content-type': ct, ...(key === null ? {} : { 'idempotency-key': key }) }, []));

const headersArb: fc.Arbitrary<Headers> = fc
  .tuple(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...JSON_TYPES).map((ct) => ({ ct: ct as string | null, bad: false })) },
      { weight: 2, arbitrary: fc.constantFrom(...WRONG_TYPES).map((ct) => ({ ct: ct as string | null, bad: true })) },
      { weight: 1, arbitrary: fc.constant({ ct: null as string | null, bad: true }) },
    ),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant({ key: null as string | null, bad: false }) },
      { weight: 2, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,40}$/).map((key) => ({ key: key as string | null, bad: false })) },
      {
        weight: 2,
        arbitrary: fc
          .oneof(
            fc.constantFrom('', ' ', 'a b', 'k'.repeat(256), 'k'.repeat(16 * 1024), 'é', '\u2603', 'tab\there', 'nul\u0000'),
            fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !/^[\x21-\x7e]+$/.test(s)),
          )
          .map((key) => ({ key: key as string | null, bad: true })),
      },
    ),
    fc.option(fc.tuple(fc.constantFrom('x-fuzz', 'accept', 'accept-charset', 'x-forwarded-for', 'cookie'), fc.string({ maxLength: 60 }))),
  )
  .map(([type, key, extra]) => {
    const h: Record<string, string> = {};
    const tags: Tag[] = [];
    if (type.ct !== null) h['content-type'] = type.ct;
    if (type.bad) tags.push('badContentType');
    if (key.key !== null) h['idempotency-key'] = key.key;
    if (key.bad) tags.push('badIdempotencyKey');
    if (extra) h[extra[0]] = extra[1];
    return headers(h, tags);
  });

// ---- paths and query strings --------------------------------------------------------------------

interface Segment {
  /** As it goes on the wire (percent-encoded). */
  text: string;
  /** What the route sees. */
  decoded: string;
}

const segment = (text: string): Segment => ({ text, decoded: decodeURIComponent(text) });
const encoded = (s: string): Segment => ({ text: encodeURIComponent(s), decoded: s });
const hasControl = (seg: Segment) => CONTROL_CHARS.test(seg.decoded);

/** A path segment: a real id, an unknown one, or something odd (never a malformed escape or > 100 chars: those have their own test at the end). */
const segmentArb = (real: string[]): fc.Arbitrary<Segment> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...real, GHOST).map(encoded) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(encoded) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map(encoded) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          '%00', 'a%00b', 'FZ-A%00', '%1F', '%7F', '%2F', '%2e%2e', '..', '.', '%20', '+', '%25', 'fz-a', '%C3%A9', '%F0%9F%98%80',
          '%EF%BB%BFFZ-A', '__proto__', 'constructor', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(100), 'NaN', '%E2%80%AE',
        )
        .map(segment),
    },
  );

const queryValueArb = fc.oneof(
  fc.constantFrom('1', '0', '-1', '1000', '1001', '1e308', '-0', 'NaN', 'Infinity', '9007199254740993', '', '1.5', 'true', '[]'),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => Buffer.from(s, 'utf8').toString('base64url')),
  fc.constantFrom('FZ-A', 'FZ-B').map((s) => Buffer.from(s).toString('base64url')),
);
const queryArb = fc
  .array(fc.tuple(fc.constantFrom('limit', 'cursor', '__proto__', 'constructor', 'x', 'limit[]', 'cursor[0]'), queryValueArb), { maxLength: 3 })
  .map((pairs) => ({
    text: pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`,
    nul: pairs.some(([k, v]) => k.startsWith('cursor') && Buffer.from(v, 'base64url').toString('utf8').includes('\u0000')),
  }));

// ---- the checks ----------------------------------------------------------------------------------

interface Sent {
  method: 'GET' | 'POST' | 'HEAD';
  url: string;
  payload?: string | Buffer;
  headers?: Record<string, string>;
}

const describeSent = (s: Sent) => {
  const payload = s.payload === undefined ? '' : typeof s.payload === 'string' ? s.payload : `<bytes ${s.payload.toString('hex')}>`;
  return `${s.method} ${s.url.slice(0, 300)} ${JSON.stringify(s.headers ?? {}).slice(0, 300)} ${payload.slice(0, 500)}${payload.length > 500 ? `... (${payload.length} chars)` : ''}`;
};

/** 2xx or 4xx, JSON, and the envelope that matches the status. */
function assertWellFormed(sent: Sent, res: LightMyRequestResponse): void {
  const where = `${describeSent(sent)}\n  -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  // GET / sends a browser to the API reference, whatever the query string.
  if (res.statusCode === 302 && new URL(sent.url, 'http://localhost').pathname === '/' && res.headers.location === '/docs') return;
  assert.ok((res.statusCode >= 200 && res.statusCode < 300) || (res.statusCode >= 400 && res.statusCode < 500), `not a 2xx or 4xx: ${where}`);
  if (sent.method === 'HEAD') return;
  assert.match(String(res.headers['content-type']), /^application\/json/, `not JSON: ${where}`);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    assert.fail(`body is not JSON: ${where}`);
  }
  if (sent.url.startsWith('/openapi.json') && res.statusCode < 300) return;
  if (res.statusCode >= 400) {
    assert.equal(body.success, false, `not the error envelope: ${where}`);
    assert.equal(body.statusCode, res.statusCode, `envelope statusCode differs: ${where}`);
    assert.equal(typeof body.error, 'string', `envelope has no error message: ${where}`);
    assert.match(String(body.code), /^[A-Z][A-Z_]+$/, `envelope has no code: ${where}`);
  } else {
    assert.equal(body.success, true, `not the success envelope: ${where}`);
    assert.equal(body.statusCode, res.statusCode, where);
  }
}

describe('HTTP fuzzing: hostile input gets a 4xx in the envelope and changes nothing', () => {
  let t: TestApp;
  let fx: Fixtures;
  let okCount = 0;

  before(async () => {
    t = await startTestApp();
    for (const [sku, totalQuantity, maxPerUser] of [['FZ-A', 1000, null], ['FZ-B', 3, 2]] as const) {
      const res = await post(t, '/inventory', { sku, productName: `Fixture ${sku}`, totalQuantity, price: 10, maxPerUser });
      assert.equal(res.status, 201, res.raw);
    }
    const open = await post(t, '/inventory/reserve', { userId: OWNER, sku: 'FZ-A', quantity: 1 });
    const held = await post(t, '/inventory/reserve', { userId: OWNER, sku: 'FZ-B', quantity: 1 });
    const order = await post(t, '/checkout/confirm', { userId: OWNER, reservationId: held.body.data.reservationId });
    assert.equal(order.status, 201, order.raw);
    fx = { openReservation: open.body.data.reservationId, confirmedReservation: held.body.data.reservationId, order: order.body.data.orderId };
  });
  after(() => t.close());

  /** Everything a request could touch: all counters (and updatedAt), the fixture ledgers, reservations and order. */
  async function snapshot(): Promise<string> {
    const parts = await Promise.all([
      get(t, '/inventory?limit=1000'),
      ...FIXTURE_SKUS.map((sku) => get(t, `/inventory/${sku}/movements?limit=1000`)),
      get(t, `/reservation/${fx.openReservation}`),
      get(t, `/reservation/${fx.confirmedReservation}`),
      get(t, `/order/${fx.order}`),
    ]);
    return JSON.stringify(parts.map((p) => p.body));
  }

  /** Sends one request and checks the properties; returns the response. */
  async function send(sent: Sent, tags: readonly Tag[] = []): Promise<LightMyRequestResponse> {
    const before = await snapshot();
    const res = await t.app.inject({
      method: sent.method,
      url: sent.url,
      ...(sent.payload === undefined ? {} : { payload: sent.payload }),
      headers: sent.headers ?? {},
    });
    assertWellFormed(sent, res);
    const mustFail = tags.filter((tag) => MUST_FAIL.has(tag));
    if (mustFail.length > 0) {
      assert.ok(res.statusCode >= 400, `[${mustFail.join(', ')}] should be refused: ${describeSent(sent)}\n  -> ${res.statusCode} ${res.body.slice(0, 300)}`);
    }
    if (res.statusCode >= 400) {
      assert.equal(await snapshot(), before, `a ${res.statusCode} changed the store: ${describeSent(sent)}\n  -> ${res.body.slice(0, 300)}`);
    } else {
      okCount++;
    }
    return res;
  }

  const postRoutes = ['/inventory', '/inventory/reserve', '/inventory/reserve/cancel', '/checkout/confirm', '/checkout/cancel', '/order/:id/payment'] as const;

  for (const route of postRoutes) {
    it(`POST ${route}: random and adversarial bodies and headers`, async () => {
      const fields = routes(fx)[route];
      const pathArb: fc.Arbitrary<{ url: string; tags: Tag[] }> =
        route === '/order/:id/payment'
          ? fc.oneof(fc.constant(fx.order).map(encoded), segmentArb([fx.order, fx.openReservation])).map((seg) => ({
              url: `/order/${seg.text}/payment`,
              tags: hasControl(seg) ? ['controlInId'] : [],
            }))
          : fc.constant({ url: route, tags: [] });
      const bodies = bodyArbs(fields);
      const requestArb = fc
        .oneof(
          { weight: 1, arbitrary: fc.tuple(pathArb, bodies.nearValid, cleanHeadersArb) },
          { weight: 2, arbitrary: fc.tuple(pathArb, bodies.any, headersArb) },
        )
        .filter(([, b]) => !b.tags.includes('dupKey'));
      await fc.assert(
        fc.asyncProperty(requestArb, async ([path, b, h]) => {
          await send({ method: 'POST', url: path.url, payload: b.payload, headers: h.headers }, [...path.tags, ...b.tags, ...h.tags]);
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
  }

  it('GET: random paths, ids and query strings', async () => {
    const getArb = fc
      .tuple(
        fc.constantFrom(
          '/inventory', '/inventory/{a}', '/inventory/{a}/movements', '/reservation/{a}', '/order/{a}', '/healthz',
          '/openapi.json', '/{a}', '/inventory/{a}/{b}', '/order/{a}/payment', '/checkout/confirm', '/',
        ),
        segmentArb([...FIXTURE_SKUS, fx.openReservation, fx.confirmedReservation, fx.order]),
        segmentArb([...FIXTURE_SKUS]),
        queryArb,
        fc.constantFrom<'GET' | 'HEAD'>('GET', 'GET', 'GET', 'HEAD'),
      );
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(getArb, async ([template, a, b, query, method]) => {
        const url = template.replace('{a}', a.text).replace('{b}', b.text) + query.text;
        const res = await t.app.inject({ method, url });
        assertWellFormed({ method, url }, res);
      }),
      { numRuns: FUZZ_RUNS * 2 },
    );
    assert.equal(await snapshot(), before, 'a GET changed the store');
  });

  it('named hostile requests from issue 5', async () => {
    const J = { 'content-type': 'application/json' };
    const reserveBody = '"userId":"fz-named","sku":"FZ-A","quantity":1';
    const cases: Array<[string, Sent]> = [
      ['__proto__ key', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody},"__proto__":{"admin":true}}`, headers: J }],
      ['__proto__ in a line', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","items":[{"sku":"FZ-A","quantity":1,"__proto__":{"quantity":5}}]}', headers: J }],
      ['constructor.prototype', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody},"constructor":{"prototype":{"x":1}}}`, headers: J }],
      ['plain constructor key', { method: 'POST', url: '/checkout/confirm', payload: `{"userId":"${OWNER}","reservationId":"${fx.openReservation}","constructor":1}`, headers: J }],
      ['escaped __proto__', { method: 'POST', url: '/inventory', payload: '{"sku":"FZ-P","productName":"p","totalQuantity":1,"price":1,"\\u005f_proto__":{"x":1}}', headers: J }],
      ['10,000 nested arrays', { method: 'POST', url: '/inventory/reserve', payload: deepArrays(10_000), headers: J }],
      ['10,000 nested objects', { method: 'POST', url: '/checkout/cancel', payload: deepObjects(10_000), headers: J }],
      ['100,000 nested arrays in a field', { method: 'POST', url: '/inventory/reserve', payload: `{"userId":${deepArrays(100_000)},"sku":"FZ-A","quantity":1}`, headers: J }],
      ['quantity 1e308', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":1e308}', headers: J }],
      ['quantity -0', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":-0}', headers: J }],
      ['quantity 2**53+1', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":9007199254740993}', headers: J }],
      ['quantity 1e400 (Infinity)', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":1e400}', headers: J }],
      ['price 1e308', { method: 'POST', url: '/inventory', payload: '{"sku":"FZ-H","productName":"h","totalQuantity":1,"price":1e308}', headers: J }],
      ['price 2**53+1', { method: 'POST', url: '/inventory', payload: '{"sku":"FZ-H","productName":"h","totalQuantity":1,"price":9007199254740993}', headers: J }],
      ['totalQuantity 1e308', { method: 'POST', url: '/inventory', payload: '{"sku":"FZ-H","productName":"h","totalQuantity":1e308,"price":1}', headers: J }],
      ['quantity "NaN"', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":"NaN"}', headers: J }],
      ['quantity "Infinity"', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":"Infinity"}', headers: J }],
      ['bare NaN', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A","quantity":NaN}', headers: J }],
      ['price "Infinity"', { method: 'POST', url: '/inventory', payload: '{"sku":"FZ-H","productName":"h","totalQuantity":1,"price":"Infinity"}', headers: J }],
      ['NUL in userId', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz\\u0000named","sku":"FZ-A","quantity":1}', headers: J }],
      ['NUL in sku', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-A\\u0000","quantity":1}', headers: J }],
      ['NUL in reservationId', { method: 'POST', url: '/checkout/confirm', payload: `{"userId":"${OWNER}","reservationId":"${fx.openReservation}\\u0000"}`, headers: J }],
      ['NUL in the path', { method: 'POST', url: `/order/${fx.order}%00/payment`, payload: '{"status":"SUCCESS"}', headers: J }],
      ['unicode sku', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","sku":"FZ-Ä","quantity":1}', headers: J }],
      ['array instead of object', { method: 'POST', url: '/checkout/confirm', payload: `[{"userId":"${OWNER}","reservationId":"${fx.openReservation}"}]`, headers: J }],
      ['items as an object', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named","items":{"sku":"FZ-A","quantity":1}}', headers: J }],
      ['empty body', { method: 'POST', url: '/checkout/confirm', payload: '', headers: J }],
      ['no body, no content type', { method: 'POST', url: '/checkout/confirm' }],
      ['text/plain', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody}}`, headers: { 'content-type': 'text/plain' } }],
      ['form', { method: 'POST', url: '/inventory/reserve', payload: 'userId=fz-named&sku=FZ-A&quantity=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
      ['no content type', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody}}`, headers: {} }],
      ['16 KB Idempotency-Key', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody}}`, headers: { ...J, 'idempotency-key': 'k'.repeat(16 * 1024) } }],
      ['256-char Idempotency-Key', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody}}`, headers: { ...J, 'idempotency-key': 'k'.repeat(256) } }],
      ['60 KB header', { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-named"}', headers: { ...J, 'x-big': 'h'.repeat(60 * 1024) } }],
      ['body of the reserve limit + 1', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody},"pad":"${'x'.repeat(BODY_LIMITS.reserve + 1 - `{${reserveBody},"pad":""}`.length)}"}`, headers: J }],
      ['body of exactly the reserve limit (past the limit check, still refused)', { method: 'POST', url: '/inventory/reserve', payload: `{${reserveBody},"pad":"${'x'.repeat(BODY_LIMITS.reserve - `{${reserveBody},"pad":""}`.length)}"}`, headers: J }],
    ];
    for (const [name, sent] of cases) {
      const res = await send(sent);
      assert.ok(res.statusCode >= 400, `${name} should be refused: ${res.statusCode} ${res.body.slice(0, 200)}`);
      if (name === 'body of the reserve limit + 1') {
        assert.equal(Buffer.byteLength(sent.payload as string), BODY_LIMITS.reserve + 1);
        assert.equal(res.statusCode, 413);
      }
      if (name.startsWith('body of exactly the reserve limit')) assert.equal(res.statusCode, 400);
    }
  });

  it('well-formed unicode userIds own what they reserve', async () => {
    const userIdArb = fc
      .oneof(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
        fc.constantFrom('ſ', '😀', '\u202e', '\ufffe', '\u2028', 'ﬀ', 'a'.repeat(100)),
      )
      .filter((s) => !CONTROL_CHARS.test(s) && [...s].length <= 100);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(userIdArb, (raw) => ownsWhatItReserves(t, `${raw}#${n++}`)),
      { numRuns: Math.ceil(FUZZ_RUNS / 3) },
    );
  });

  it('the ledger of the fixture skus still replays to their counters', async () => {
    assert.ok(okCount > 0, 'no valid request got through: the generators are too hostile');
    for (const sku of FIXTURE_SKUS) {
      const ledger = (await get(t, `/inventory/${sku}/movements?limit=1000`)).body.data as Array<{ deltaOnHand: number; deltaReserved: number; deltaSold: number }>;
      const sum = (key: 'deltaOnHand' | 'deltaReserved' | 'deltaSold') => ledger.reduce((total, m) => total + m[key], 0);
      const product = (await get(t, `/inventory/${sku}`)).body.data;
      assert.deepEqual(
        [sum('deltaOnHand'), sum('deltaReserved'), sum('deltaSold')],
        [product.totalQuantity, product.reservedQuantity, product.soldQuantity],
        sku,
      );
    }
  });

  // ---- inputs with a test of their own: duplicate keys, malformed escapes, over-long ids ----

  it(
    'duplicate JSON keys are refused (issue 5 lists them as hostile input)',
    async () => {
      const res = await send(
        { method: 'POST', url: '/inventory/reserve', payload: '{"userId":"fz-dup-a","userId":"fz-dup-b","sku":"FZ-A","quantity":1}', headers: { 'content-type': 'application/json' } },
        ['dupKey'],
      );
      assert.ok(res.statusCode >= 400, `duplicate keys: ${res.statusCode} ${res.body.slice(0, 200)}`);
      const fields = routes(fx)['/inventory/reserve'];
      await fc.assert(
        fc.asyncProperty(
          bodyArbs(fields).any.filter((b) => b.tags.includes('dupKey')),
          async (body) => {
            const r = await send({ method: 'POST', url: '/inventory/reserve', payload: body.payload, headers: { 'content-type': 'application/json' } }, body.tags);
            assert.ok(r.statusCode >= 400, `duplicate keys accepted: ${String(body.payload).slice(0, 200)} -> ${r.statusCode}`);
          },
        ),
        { numRuns: 30 },
      );
    },
  );

  it(
    'a malformed percent-escape or an over-long path id gets the envelope',
    async () => {
      const segments = fc.oneof(
        fc.constantFrom('%', '%zz', '%E0%A4%A', '%ED%A0%80', '%C3', 'a%2', '%%'),
        fc.integer({ min: 101, max: 5000 }).map((n) => 'x'.repeat(n)),
      );
      const templates = fc.constantFrom('/inventory/{a}', '/inventory/{a}/movements', '/reservation/{a}', '/order/{a}');
      await fc.assert(
        fc.asyncProperty(templates, segments, async (template, seg) => {
          const url = template.replace('{a}', seg);
          assertWellFormed({ method: 'GET', url }, await t.app.inject({ method: 'GET', url }));
        }),
        { numRuns: 30 },
      );
      await send({ method: 'POST', url: '/order/%E0%A4%A/payment', payload: '{"status":"SUCCESS"}', headers: { 'content-type': 'application/json' } });
    },
  );

  it(
    'NUL in a sku path, a list cursor or a product name is a 4xx on every store',
    async () => {
      const J = { 'content-type': 'application/json' };
      await send({ method: 'GET', url: '/inventory/%00' });
      await send({ method: 'GET', url: '/inventory/FZ-A%00/movements' });
      await send({ method: 'GET', url: `/inventory?cursor=${Buffer.from('A\u0000').toString('base64url')}` });
      await send({ method: 'POST', url: '/inventory', payload: '{"sku":"FZ-NUL","productName":"a\\u0000b","totalQuantity":1,"price":1}', headers: J });
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), async (a, b) => {
          const withNul = `${a}\u0000${b}`;
          await send({ method: 'GET', url: `/inventory/${encodeURIComponent(withNul)}` });
          await send({ method: 'GET', url: `/inventory?cursor=${Buffer.from(withNul).toString('base64url')}` });
        }),
        { numRuns: 20 },
      );
    },
  );

  it(
    'a userId with a lone surrogate is refused: no store could keep it as sent',
    async () => {
      for (const userId of ['\ud800', 'fz\udfff', '\udc00x', 'a\ud83d']) {
        const res = await post(t, '/inventory/reserve', { userId, sku: 'FZ-A', quantity: 1 });
        assert.equal(res.status, 400, `${JSON.stringify(userId)}: ${res.raw.slice(0, 300)}`);
        assert.equal(res.body.code, 'VALIDATION_ERROR');
      }
      await ownsWhatItReserves(t, 'fz-\ud83d\ude00-paired');
    },
  );
});

/** Reserve as userId, read it back, then cancel it as the same userId: the id round-trips and ownership holds. */
async function ownsWhatItReserves(t: TestApp, userId: string): Promise<void> {
  const reserved = await post(t, '/inventory/reserve', { userId, sku: 'FZ-A', quantity: 1 });
  assert.equal(reserved.status, 201, `${JSON.stringify(userId)}: ${reserved.raw.slice(0, 300)}`);
  const id = reserved.body.data.reservationId as string;
  const read = await get(t, `/reservation/${id}`);
  assert.equal(read.body.data.userId, userId, `${JSON.stringify(userId)} reads back as ${JSON.stringify(read.body.data.userId)}`);
  const cancelled = await post(t, '/inventory/reserve/cancel', { userId, reservationId: id });
  assert.equal(cancelled.status, 200, `${JSON.stringify(userId)} cannot cancel its own reservation: ${cancelled.raw.slice(0, 300)}`);
}

describe('HTTP fuzzing on a real socket: header sizes and parser-level errors', () => {
  let t: TestApp;
  let port: number;

  before(async () => {
    t = await startTestApp();
    const res = await post(t, '/inventory', { sku: 'SOCK', productName: 'Socket', totalQuantity: 10, price: 1 });
    assert.equal(res.status, 201);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  after(() => t.close());

  /** Sends raw bytes on a fresh connection; resolves with what came back once the server closes it. */
  function rawRequest(bytes: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const [head = '', body = ''] = text.split('\r\n\r\n', 2);
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
      });
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
      socket.end(bytes);
    });
  }

  const reserveRequest = (extraHeaders: string, body = '{"userId":"sock","sku":"SOCK","quantity":1}') =>
    `POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extraHeaders}\r\n${body}`;

  const counters = async () => JSON.stringify((await get(t, '/inventory/SOCK')).body.data);

  it('over-long headers get a 4xx JSON answer from Node/Fastify and change nothing', async () => {
    const before = await counters();
    for (const extra of [`Idempotency-Key: ${'k'.repeat(16 * 1024)}\r\n`, `X-Big: ${'h'.repeat(60 * 1024)}\r\n`]) {
      const res = await rawRequest(reserveRequest(extra));
      // Node's max header size is 16 KiB: the parser refuses before any route runs.
      assert.equal(res.status, 431, res.headers);
      assert.doesNotThrow(() => JSON.parse(res.body), res.body);
    }
    assert.equal(await counters(), before);
  });

  it('a 15 KB Idempotency-Key fits the parser and gets the enveloped 400', async () => {
    const before = await counters();
    const res = await rawRequest(reserveRequest(`Idempotency-Key: ${'k'.repeat(15 * 1024)}\r\n`));
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body);
    assert.deepEqual([body.success, body.statusCode, body.code], [false, 400, 'VALIDATION_ERROR']);
    assert.equal(await counters(), before);
  });

  it('a body of the reserve limit + 1 bytes gets the enveloped 413', async () => {
    const before = await counters();
    const prefix = '{"userId":"sock","sku":"SOCK","quantity":1,"pad":"';
    const body = `${prefix}${'x'.repeat(BODY_LIMITS.reserve + 1 - prefix.length - 2)}"}`;
    assert.equal(Buffer.byteLength(body), BODY_LIMITS.reserve + 1);
    const res = await rawRequest(reserveRequest('', body));
    assert.equal(res.status, 413);
    assert.deepEqual(JSON.parse(res.body).code, 'PAYLOAD_TOO_LARGE');
    assert.equal(await counters(), before);
  });

  const parserErrors: Array<[string, string]> = [
    ['16 KB Idempotency-Key', reserveRequest(`Idempotency-Key: ${'k'.repeat(16 * 1024)}\r\n`)],
    ['60 KB header', reserveRequest(`X-Big: ${'h'.repeat(60 * 1024)}\r\n`)],
    ['garbage request line', 'GARBAGE\r\n\r\n'],
    ['Content-Length not a number', 'POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}'],
    ['two different Content-Lengths', 'POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\n{}'],
    ['Content-Length with Transfer-Encoding', 'POST /inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n'],
    ['NUL in an Idempotency-Key', reserveRequest('Idempotency-Key: a\u0000b\r\n')],
    ['raw NUL in the path', 'GET /inventory/a\u0000b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
  ];

  it('parser-level refusals are 4xx with a JSON body and change nothing', async () => {
    const before = await counters();
    for (const [name, bytes] of parserErrors) {
      const res = await rawRequest(bytes);
      assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status}`);
      assert.doesNotThrow(() => JSON.parse(res.body), `${name}: ${res.body}`);
    }
    assert.equal(await counters(), before);
  });

  it(
    'parser-level refusals are in the envelope too',
    async () => {
      for (const [name, bytes] of parserErrors) {
        const body = JSON.parse((await rawRequest(bytes)).body);
        assert.equal(body.success, false, `${name}: ${JSON.stringify(body)}`);
        assert.equal(typeof body.code, 'string', `${name}: ${JSON.stringify(body)}`);
      }
    },
  );
});
