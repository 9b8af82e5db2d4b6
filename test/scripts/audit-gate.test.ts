import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeAudit } from '../../scripts/audit-gate.js';

const report = (counts: Record<string, number>, vulnerabilities: Record<string, { severity: string }> = {}) =>
  JSON.stringify({ vulnerabilities, metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } } });

describe('the dependency audit gate', () => {
  it('fails on a high or critical advisory, naming the packages', () => {
    const verdict = judgeAudit(report({ high: 1, critical: 1 }, { a: { severity: 'high' }, b: { severity: 'critical' }, c: { severity: 'low' } }));
    assert.deepEqual(verdict.kind === 'vulnerable' && verdict.packages, ['a (high)', 'b (critical)']);
  });

  it('passes on moderate and lower', () => {
    assert.equal(judgeAudit(report({ moderate: 3, low: 2 })).kind, 'clean');
  });

  it('says so, and passes, when the advisory service cannot be asked', () => {
    const verdict = judgeAudit(JSON.stringify({ statusCode: 405, message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk' }));
    assert.equal(verdict.kind, 'unavailable');
    assert.match(verdict.kind === 'unavailable' ? verdict.reason : '', /405/);
    assert.equal(judgeAudit('').kind, 'unavailable');
  });
});
