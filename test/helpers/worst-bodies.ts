// The largest body each POST route accepts: every id and name at its longest, every character
// written as the longest JSON escape it allows, every list full. Used by the body-limit tests and
// by scripts/measure-body-cost.ts, which times them.
import type { TSchema } from '@sinclair/typebox';
import { BODY_LIMITS, findDuplicateKey, MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/http/json-body.js';
import { CheckoutCancelBody, PaymentBody } from '../../src/http/schemas/order.schema.js';
import { AdjustBody, CreateProductBody, RestockBody } from '../../src/http/schemas/product.schema.js';
import { ReservationActionBody, ReserveBody } from '../../src/http/schemas/reservation.schema.js';
import { makeValidatorCompiler } from '../../src/http/validation.js';

/** One character (U+1F600) as two \u escapes: 12 bytes of JSON for 1 character of an id or name. */
const ASTRAL = '\\ud83d\\ude00';
const longestId = ASTRAL.repeat(128);
/** A valid sku of 64 characters, each written as a \u escape. */
const longestSku = '\\u0041'.repeat(64);

export interface WorstBody {
  route: string;
  url: string;
  body: string;
  limit: number;
  schema: TSchema;
}

/** The i-th of 50 distinct longest skus: 62 escaped letters and two escaped digits. */
const skuNumber = (i: number) => '\\u0041'.repeat(62) + [...String(i).padStart(2, '0')].map((d) => `\\u003${d}`).join('');
const items = Array.from({ length: 50 }, (_, i) => `{"sku":"${skuNumber(i)}","quantity":10000}`).join(',');

export const WORST_BODIES: readonly WorstBody[] = [
  { route: 'POST /inventory/reserve', schema: ReserveBody, url: '/inventory/reserve', limit: BODY_LIMITS.reserve, body: `{"userId":"${longestId}","items":[${items}]}` },
  {
    route: 'POST /inventory', schema: CreateProductBody,
    url: '/inventory',
    limit: BODY_LIMITS.ids,
    body: `{"sku":"${longestSku}","productName":"${ASTRAL.repeat(200)}","totalQuantity":1000000000,"quantity":1000000000,"price":99999999.99,"maxPerUser":1000000}`,
  },
  { route: 'POST /inventory/reserve/cancel', schema: ReservationActionBody, url: '/inventory/reserve/cancel', limit: BODY_LIMITS.ids, body: `{"reservationId":"${longestId}","userId":"${longestId}"}` },
  { route: 'POST /checkout/confirm', schema: ReservationActionBody, url: '/checkout/confirm', limit: BODY_LIMITS.ids, body: `{"reservationId":"${longestId}","userId":"${longestId}"}` },
  { route: 'POST /checkout/cancel', schema: CheckoutCancelBody, url: '/checkout/cancel', limit: BODY_LIMITS.ids, body: `{"reservationId":"${longestId}","userId":"${longestId}"}` },
  { route: 'POST /inventory/:sku/restock', schema: RestockBody, url: `/inventory/${'B'.repeat(64)}/restock`, limit: BODY_LIMITS.counts, body: '{"quantity":1000000000}' },
  { route: 'POST /inventory/:sku/adjust', schema: AdjustBody, url: `/inventory/${'B'.repeat(64)}/adjust`, limit: BODY_LIMITS.counts, body: '{"delta":-1000000000}' },
  { route: 'POST /order/:orderId/payment', schema: PaymentBody, url: `/order/${'o'.repeat(128)}/payment`, limit: BODY_LIMITS.counts, body: '{"status":"SUCCESS"}' },
];

/** A valid body padded with trailing spaces to exactly `bytes` (still valid JSON). */
export const padTo = (body: string, bytes: number): string => body + ' '.repeat(bytes - Buffer.byteLength(body));

/**
 * Milliseconds of CPU, averaged over `runs`, to read and judge `worst` the way the server does
 * before any route work: the nesting pre-scan, the JSON parse, the duplicate-key scan and schema
 * validation. CPU time rather than wall time, so time spent waiting for a busy machine is left out.
 */
export function readingCostMs(worst: WorstBody, runs: number): number {
  const validate = makeValidatorCompiler()({ schema: worst.schema, method: 'POST', url: worst.url, httpPart: 'body' });
  const read = () => {
    if (nestsDeeperThan(worst.body, MAX_JSON_DEPTH)) throw new Error(`${worst.route}: refused as too deep`);
    const value: unknown = JSON.parse(worst.body);
    if (findDuplicateKey(worst.body) !== undefined) throw new Error(`${worst.route}: duplicate key`);
    if (validate(value) !== true) throw new Error(`${worst.route}: invalid body`);
  };
  read();
  const started = process.cpuUsage();
  for (let i = 0; i < runs; i++) read();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000 / runs;
}
