import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { ConfigError, loadConfig } from '../../src/config.js';

/** A self-signed certificate for 127.0.0.1, made for this test by openssl. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, timeout: 5_000 }, (res) => {
      const protocol = (res.socket as unknown as { getProtocol(): string | null }).getProtocol() ?? '';
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol }));
    });
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

test('with TLS_CERT_FILE and TLS_KEY_FILE the server speaks HTTPS, and plain HTTP gets no answer', { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = selfSigned(dir);
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: 'sqlite::memory:', TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
  const { app } = await buildApp({ config });
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  const res = await httpsGet(port, '/healthz', readFileSync(cert));
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).data.status, 'ok');
  assert.match(res.protocol, /^TLSv1\.[23]$/);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) }));
});

test('a TLS setting without its pair, or a file that is not PEM, stops start-up naming the variable', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = selfSigned(dir);
  const base = { DATABASE_URL: 'sqlite::memory:' };
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.variable;
    }
    return 'accepted';
  };
  assert.equal(refusal({ TLS_CERT_FILE: cert }), 'TLS_KEY_FILE');
  assert.equal(refusal({ TLS_KEY_FILE: key }), 'TLS_CERT_FILE');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  assert.equal(refusal({ TLS_CERT_FILE: notPem, TLS_KEY_FILE: key }), 'TLS_CERT_FILE');
  assert.equal(refusal({ TLS_CERT_FILE: cert, TLS_KEY_FILE: cert }), 'TLS_KEY_FILE');
  assert.equal(refusal({ TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: key }), 'TLS_CERT_FILE');
});
