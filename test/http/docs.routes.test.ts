import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

describe('docs in the browser', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'x'.repeat(32) } });
  });
  after(() => t.close());

  it('GET / sends a browser to /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 302);
    assert.equal(res.headers.location, '/docs');
  });

  it('/docs is an interactive reference whose scripts and styles come from this server, with no token', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no asset from another origin');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /https?:/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
    assert.ok(assets.length >= 3, `assets found: ${assets.join(', ')}`);
    for (const asset of assets) {
      const res = await t.app.inject({ method: 'GET', url: new URL(asset, 'http://localhost/docs/').pathname });
      assert.equal(res.statusCode, 200, asset);
      assert.ok(res.body.length > 100, asset);
    }
    const initializer = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    assert.match(initializer.body, /url: resolveUrl\('\.\/json'\)/);
    const spec = await t.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(JSON.parse(spec.body).openapi, '3.1.0');
  });
});
