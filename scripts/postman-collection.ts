// Writes docs/Postman_Collection.json from the OpenAPI document: one request per operation,
// grouped by tag, plus a "Test scenarios" folder that runs the README's flow and the seed's
// contract points with assertions, chaining ids through collection variables. Run it with
// `npm run docs:postman` after changing a route; a test fails when the committed file is stale,
// and another runs the scenarios with newman against a real server.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const COLLECTION_FILE = fileURLToPath(new URL('../docs/Postman_Collection.json', import.meta.url));
export const SCENARIOS = 'Test scenarios';

/** What to put in a body field when the document gives only its type. */
const SAMPLE: Record<string, unknown> = {
  userId: '{{userId}}',
  sku: 'LAPTOP001',
  quantity: 1,
  reservationId: '{{reservationId}}',
  orderId: '{{orderId}}',
  productName: 'Racing Drone',
  totalQuantity: 4,
  price: 249.5,
  delta: -1,
  status: 'SUCCESS',
};

// A number taken from a variable goes in unquoted.
const json = (body: unknown) => ({
  mode: 'raw',
  raw: JSON.stringify(body, null, 2).replace(/"\{\{available\}\}"/g, '{{available}}'),
  options: { raw: { language: 'json' } },
});
const url = (path: string, query: Array<{ key: string; value: string }> = []) => {
  const pathname = path.replace(/\{(\w+)\}/g, ':$1');
  return {
    raw: `{{baseUrl}}${pathname}${query.length ? `?${query.map((q) => `${q.key}=${q.value}`).join('&')}` : ''}`,
    host: ['{{baseUrl}}'],
    path: pathname.split('/').filter(Boolean),
    ...(query.length ? { query } : {}),
    ...(/\{\w+\}/.test(path)
      ? { variable: [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ key: m[1], value: `{{${m[1]}}}` })) }
      : {}),
  };
};

function operationItem(path: string, method: string, operation: Json): Json {
  const schema: Json | undefined = operation.requestBody?.content?.['application/json']?.schema;
  const fields = schema ? [...new Set([...(schema.required ?? []), ...Object.keys(schema.properties ?? {}).filter((k) => k in SAMPLE)])] : [];
  // Cancel takes exactly one of orderId and reservationId.
  const sent = fields.filter((k) => k in SAMPLE && !(k === 'reservationId' && fields.includes('orderId')));
  const body = Object.fromEntries(sent.map((k) => [k, SAMPLE[k]]));
  return {
    name: operation.summary ?? `${method.toUpperCase()} ${path}`,
    request: {
      method: method.toUpperCase(),
      ...(operation.security?.length === 0 ? { auth: { type: 'noauth' } } : {}),
      header: schema ? [{ key: 'Content-Type', value: 'application/json' }] : [],
      url: url(path),
      ...(schema ? { body: json(body) } : {}),
      description: operation.description ?? '',
    },
  };
}

interface Step {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: Json;
  headers?: Record<string, string>;
  tests: string[];
}

const step = ({ name, method, path, body, headers = {}, tests }: Step): Json => ({
  name,
  event: [{ listen: 'test', script: { type: 'text/javascript', exec: tests } }],
  request: {
    method,
    header: [...(body ? [{ key: 'Content-Type', value: 'application/json' }] : []), ...Object.entries(headers).map(([key, value]) => ({ key, value }))],
    url: url(path),
    ...(body ? { body: json(body) } : {}),
  },
});

const expectStatus = (status: number) => `pm.test('answers ${status}', () => pm.response.to.have.status(${status}));`;
const expectData = (expression: string, label: string) => `pm.test('${label}', () => pm.expect(${expression}).to.be.true);`;

/** The README's flow, a duplicate reserve, a sold-out refusal and an idempotent retry, each leaving the stock as it found it. */
function scenarios(): Json[] {
  const data = 'var data = pm.response.json().data;';
  return [
    {
      name: 'Flow: list, reserve, read, confirm, repeat confirm, read order, cancel',
      item: [
        step({ name: 'List products', method: 'GET', path: '/inventory', tests: [expectStatus(200), data, expectData("data.some((p) => p.sku === 'LAPTOP001')", 'lists LAPTOP001')] }),
        step({
          name: 'Reserve one laptop',
          method: 'POST',
          path: '/inventory/reserve',
          body: { userId: '{{userId}}', sku: 'LAPTOP001', quantity: 1 },
          tests: [expectStatus(201), data, expectData("data.status === 'RESERVED' && data.isIdempotent === false", 'is RESERVED'), "pm.collectionVariables.set('reservationId', data.reservationId);"],
        }),
        step({ name: 'Read the reservation', method: 'GET', path: '/reservation/{reservationId}', tests: [expectStatus(200), data, expectData("data.reservationId === pm.collectionVariables.get('reservationId') && data.expiresIn > 0", 'is the one reserved')] }),
        step({
          name: 'Confirm the checkout',
          method: 'POST',
          path: '/checkout/confirm',
          body: { userId: '{{userId}}', reservationId: '{{reservationId}}' },
          tests: [expectStatus(201), data, expectData("data.status === 'CONFIRMED' && data.isIdempotent === false", 'is CONFIRMED, a new order'), "pm.collectionVariables.set('orderId', data.orderId);"],
        }),
        step({
          name: 'Confirm again',
          method: 'POST',
          path: '/checkout/confirm',
          body: { userId: '{{userId}}', reservationId: '{{reservationId}}' },
          tests: [expectStatus(200), data, expectData("data.orderId === pm.collectionVariables.get('orderId') && data.isIdempotent === true", 'is the same order, marked isIdempotent')],
        }),
        step({ name: 'Read the order', method: 'GET', path: '/order/{orderId}', tests: [expectStatus(200), data, expectData("data.status === 'CONFIRMED' && data.paymentStatus === 'PENDING'", 'is CONFIRMED, payment PENDING')] }),
        step({
          name: 'Cancel the order',
          method: 'POST',
          path: '/checkout/cancel',
          body: { userId: '{{userId}}', orderId: '{{orderId}}' },
          tests: [expectStatus(200), data, expectData("data.status === 'CANCELLED' && data.isIdempotent === false", 'is CANCELLED')],
        }),
      ],
    },
    {
      name: 'Duplicate reserve',
      item: [
        step({ name: 'Reserve a phone (quantity defaults to 1)', method: 'POST', path: '/inventory/reserve', body: { userId: '{{userId}}', sku: 'PHONE001' }, tests: [expectStatus(201), data, expectData('data.quantity === 1', 'holds one unit'), "pm.collectionVariables.set('reservationId', data.reservationId);"] }),
        step({ name: 'The same reserve again', method: 'POST', path: '/inventory/reserve', body: { userId: '{{userId}}', sku: 'PHONE001' }, tests: [expectStatus(200), data, expectData("data.reservationId === pm.collectionVariables.get('reservationId') && data.isIdempotent === true", 'is the same reservation')] }),
        step({ name: 'Release it', method: 'POST', path: '/inventory/reserve/cancel', body: { userId: '{{userId}}', reservationId: '{{reservationId}}' }, tests: [expectStatus(200), data, expectData("data.status === 'CANCELLED'", 'is CANCELLED')] }),
      ],
    },
    {
      name: 'Sold-out refusal',
      item: [
        step({ name: 'Read the cameras left', method: 'GET', path: '/inventory/CAMERA001', tests: [expectStatus(200), data, "pm.collectionVariables.set('available', data.availableQuantity);", expectData('data.availableQuantity > 0', 'has cameras')] }),
        step({ name: 'Hold every camera', method: 'POST', path: '/inventory/reserve', body: { userId: '{{userId}}-hoarder', sku: 'CAMERA001', quantity: '{{available}}' as unknown as number }, tests: [expectStatus(201), data, "pm.collectionVariables.set('reservationId', data.reservationId);"] }),
        step({ name: 'Another shopper is refused', method: 'POST', path: '/inventory/reserve', body: { userId: '{{userId}}', sku: 'CAMERA001', quantity: 1 }, tests: [expectStatus(400), "pm.test('says INSUFFICIENT_INVENTORY', () => pm.expect(pm.response.json().code).to.equal('INSUFFICIENT_INVENTORY'));"] }),
        step({ name: 'Release the cameras', method: 'POST', path: '/inventory/reserve/cancel', body: { userId: '{{userId}}-hoarder', reservationId: '{{reservationId}}' }, tests: [expectStatus(200)] }),
      ],
    },
    {
      name: 'Idempotent retry',
      item: [
        step({ name: 'Reserve with an Idempotency-Key', method: 'POST', path: '/inventory/reserve', headers: { 'Idempotency-Key': '{{userId}}-retry' }, body: { userId: '{{userId}}', sku: 'HEADSET001', quantity: 2 }, tests: [expectStatus(201), data, "pm.collectionVariables.set('reservationId', data.reservationId);", "pm.collectionVariables.set('firstAnswer', pm.response.text());"] }),
        step({
          name: 'The retry replays the answer',
          method: 'POST',
          path: '/inventory/reserve',
          headers: { 'Idempotency-Key': '{{userId}}-retry' },
          body: { userId: '{{userId}}', sku: 'HEADSET001', quantity: 2 },
          tests: [expectStatus(201), "pm.test('is marked as replayed', () => pm.expect(pm.response.headers.get('Idempotent-Replayed')).to.equal('true'));", "pm.test('is byte for byte the first answer', () => pm.expect(pm.response.text()).to.equal(pm.collectionVariables.get('firstAnswer')));"],
        }),
        step({ name: 'Release it', method: 'POST', path: '/inventory/reserve/cancel', body: { userId: '{{userId}}', reservationId: '{{reservationId}}' }, tests: [expectStatus(200)] }),
      ],
    },
  ];
}

export function buildCollection(document: Json): Json {
  const byTag = new Map<string, Json[]>();
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const [method, operation] of Object.entries<Json>(item)) {
      const tag = operation.tags?.[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), operationItem(path, method, operation)]);
    }
  }
  return {
    info: {
      name: `${document.info.title} ${document.info.version}`,
      description: `${document.info.description}\n\nGenerated from GET /openapi.json by scripts/postman-collection.ts. Set baseUrl (and token with AUTH_MODE=jwt).`,
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    auth: { type: 'bearer', bearer: [{ key: 'token', value: '{{token}}', type: 'string' }] },
    event: [
      {
        listen: 'prerequest',
        // A fresh shopper per run, so the scenarios can run again against the same server.
        script: { type: 'text/javascript', exec: ["if (!pm.collectionVariables.get('userId')) pm.collectionVariables.set('userId', 'postman-' + Date.now());"] },
      },
    ],
    variable: [
      { key: 'baseUrl', value: 'http://localhost:5000' },
      { key: 'token', value: '' },
      { key: 'userId', value: '' },
      { key: 'reservationId', value: '' },
      { key: 'orderId', value: '' },
    ],
    item: [...[...byTag].map(([tag, items]) => ({ name: tag, item: items })), { name: SCENARIOS, item: scenarios() }],
  };
}

/** The collection from the document of an app as configured by default. */
export async function generateCollection(): Promise<string> {
  const stockhold = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'sqlite::memory:' }) });
  try {
    return `${JSON.stringify(buildCollection(stockhold.app.swagger() as Json), null, 2)}\n`;
  } finally {
    await stockhold.app.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(COLLECTION_FILE, await generateCollection());
  process.stdout.write(`wrote ${COLLECTION_FILE}\n`);
}
