import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findDuplicateKey } from '../../src/http/json-body.js';

describe('duplicate JSON keys', () => {
  it('finds a key repeated in one object, at any depth, however it is escaped', () => {
    assert.equal(findDuplicateKey('{"userId":"a","userId":"b"}'), 'userId');
    assert.equal(findDuplicateKey('{"items":[{"sku":"A","sku":"B"}]}'), 'sku');
    assert.equal(findDuplicateKey('{"a":{"b":1},"a":2}'), 'a');
    assert.equal(findDuplicateKey('{"userId":"a","\\u0075serId":"b"}'), 'userId');
  });

  it('allows the same key in different objects, and braces, quotes and commas inside strings', () => {
    assert.equal(findDuplicateKey('{"items":[{"sku":"A","quantity":1},{"sku":"B","quantity":2}]}'), undefined);
    assert.equal(findDuplicateKey('{"a":{"x":1},"b":{"x":1}}'), undefined);
    assert.equal(findDuplicateKey('{"name":"{\\"name\\":1, \\"name\\":2}","other":"[,]"}'), undefined);
    assert.equal(findDuplicateKey('["a","a",{"a":1}]'), undefined);
    assert.equal(findDuplicateKey('{"k\\\\":1,"k":2}'), undefined);
  });
});
