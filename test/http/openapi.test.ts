import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { get, startTestApp, type TestApp } from '../helpers/test-app.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const operationsOf = (document: Json) =>
  Object.entries<Json>(document.paths).flatMap(([path, item]) =>
    Object.entries<Json>(item).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
  );

describe('the OpenAPI document', () => {
  let t: TestApp;
  let document: Json;
  before(async () => {
    t = await startTestApp();
    document = (await get(t, '/openapi.json')).body;
  });
  after(() => t.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(document.openapi, '3.1.0');
    const result = await new Validator().validate(document);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
  });

  it('is served as YAML too, with the same content', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.yaml' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/yaml/);
    assert.deepEqual(parseYaml(res.body), document);
  });

  it('declares every idempotency header on every POST and PATCH and X-Request-Id on every operation', () => {
    for (const { path, method, operation } of operationsOf(document)) {
      const headers = (operation.parameters ?? []).filter((p: Json) => p.in === 'header').map((p: Json) => p.name);
      const expected = method !== 'GET' ? ['X-Request-Id', 'Idempotency-Key', 'X-Idempotency-Key'] : ['X-Request-Id'];
      assert.deepEqual(headers, expected, `${method} ${path}`);
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        assert.ok(response.headers?.['X-Request-Id'], `${method} ${path} ${status} documents X-Request-Id`);
        const replayable = method !== 'GET' && Number(status) < 500 && !['413', '415'].includes(status);
        assert.equal(Boolean(response.headers?.['Idempotent-Replayed']), replayable, `${method} ${path} ${status} Idempotent-Replayed`);
      }
      for (const status of ['429', '503']) {
        if (operation.responses[status]) assert.equal(operation.responses[status].headers['Retry-After'].required, true);
      }
    }
  });

  it('names the roles each operation needs and marks the public ones', () => {
    const security = Object.fromEntries(operationsOf(document).map(({ path, method, operation }) => [`${method} ${path}`, operation.security]));
    assert.deepEqual(security['GET /inventory'], []);
    assert.deepEqual(security['GET /healthz'], []);
    assert.deepEqual(security['POST /inventory'], [{ bearer: ['admin'] }]);
    assert.deepEqual(security['POST /inventory/reserve'], [{ bearer: ['customer', 'service', 'admin'] }]);
    assert.deepEqual(security['POST /order/{orderId}/payment'], [{ bearer: ['service', 'admin'] }]);
    for (const [operation, requirement] of Object.entries(security)) assert.ok(Array.isArray(requirement), `${operation} declares its security`);
  });

  it('lists the statuses and codes of the shared refusals on every operation that can answer them', () => {
    const reserve = document.paths['/inventory/reserve'].post.responses;
    assert.deepEqual(Object.keys(reserve).sort(), ['200', '201', '400', '401', '403', '404', '409', '413', '415', '422', '429', '500', '503']);
    assert.deepEqual(reserve['400'].content['application/json'].schema.properties.code.enum, [
      'VALIDATION_ERROR',
      'INSUFFICIENT_INVENTORY',
      'PURCHASE_LIMIT_EXCEEDED',
      'INVALID_JSON',
      'BAD_REQUEST',
    ]);
    assert.deepEqual(reserve['409'].content['application/json'].schema.properties.code.enum, ['RESERVATION_CONFLICT', 'IDEMPOTENCY_IN_PROGRESS']);
    assert.equal(document.paths['/healthz'].get.responses['429'], undefined, '/healthz is never rate limited');
    assert.equal(document.paths['/inventory'].get.responses['403'], undefined, 'a public route never answers FORBIDDEN');
  });

  it('gives every refusal an example per code, and every example fits its own schema', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const { path, method, operation } of operationsOf(document)) {
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        if (Number(status) < 400) continue;
        const media = response.content['application/json'];
        const validate = ajv.compile(media.schema);
        assert.deepEqual(Object.keys(media.examples), media.schema.properties.code.enum, `${method} ${path} ${status}`);
        for (const [code, example] of Object.entries<Json>(media.examples)) {
          assert.ok(validate(example.value), `${method} ${path} ${status} ${code}: ${JSON.stringify(validate.errors)}`);
        }
      }
    }
  });
});
