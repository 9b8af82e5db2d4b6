import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

interface Rule {
  alert: string;
  expr: string;
  annotations: { runbook: string };
}

const rules = (parse(readFileSync('docs/alerts.yml', 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
/** Series a histogram or summary exports under its name. */
const base = (name: string) => name.replace(/_(bucket|count|sum)$/, '');

test('every metric an alert rule names is one the server exports, and every rule has a runbook entry', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-alerts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: `sqlite:${join(dir, 'a.db')}`, BACKUP_DIR: join(dir, 'backups') });
  const { app } = await buildApp({ config });
  t.after(() => app.close());
  const scrape = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(scrape.statusCode, 200);
  const exported = new Set([...scrape.payload.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));

  assert.ok(rules.length >= 8);
  const operations = readFileSync('docs/OPERATIONS.md', 'utf8');
  for (const rule of rules) {
    // Every selector in these rules carries a label set (at least the job), so a metric name is an identifier right before `{`.
    const named = [...rule.expr.matchAll(/\b([a-z_:][a-z0-9_:]*)\{/g)].map((m) => m[1] as string);
    assert.ok(named.length > 0, `${rule.alert} names a metric`);
    for (const name of named) {
      if (name === 'up') continue; // Prometheus's own
      assert.ok(exported.has(base(name)), `${rule.alert}: ${name} is exported by GET /metrics`);
    }
    const anchor = rule.annotations.runbook.split('#')[1] as string;
    assert.ok(new RegExp(`^### ${rule.alert}$`, 'm').test(operations), `${rule.alert} has a runbook section (#${anchor})`);
  }
});
