import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidSku, normaliseSku } from '../../src/domain/sku.js';

describe('sku normalisation', () => {
  it('folds ASCII only: other scripts are left as sent, so they are refused', () => {
    assert.equal(normaliseSku(' speaker001 '), 'SPEAKER001');
    for (const raw of ['ſpeaker001', '\u00a0SPEAKER001', 'ßß', 'ＳPEAKER001']) {
      assert.equal(isValidSku(normaliseSku(raw)), false, JSON.stringify(raw));
    }
  });
});
