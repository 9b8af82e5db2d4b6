import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';

const SECRET = 's'.repeat(32);

const failsNaming = (variable: string, pattern?: RegExp) => (err: unknown) =>
  err instanceof ConfigError && err.variable === variable && (pattern === undefined || pattern.test(err.message));

describe('authentication configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-auth-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('is off by default outside production', () => {
    assert.deepEqual(loadConfig({}).auth, { mode: 'off' });
  });

  it('production refuses to start without authentication, even when told AUTH_MODE=off', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), failsNaming('AUTH_MODE', /production/));
    assert.throws(() => loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'off' }), failsNaming('AUTH_MODE'));
    assert.equal(loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET }).auth.mode, 'jwt');
  });

  it('AUTH_JWT_MAX_AGE caps token lifetimes: 24 h by default, in seconds, 60 to 31 days', () => {
    const jwt = (extra: Record<string, string> = {}) => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, ...extra }).auth;
    assert.deepEqual([jwt(), jwt({ AUTH_JWT_MAX_AGE: '900' })].map((auth) => (auth.mode === 'jwt' ? auth.maxAgeSeconds : 0)), [86_400, 900]);
    for (const bad of ['59', '86400000', '1h']) assert.throws(() => jwt({ AUTH_JWT_MAX_AGE: bad }), failsNaming('AUTH_JWT_MAX_AGE'), bad);
  });

  it('jwt needs exactly one key source', () => {
    assert.throws(() => loadConfig({ AUTH_MODE: 'jwt' }), failsNaming('AUTH_MODE', /none is set/));
    const pem = file('one.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
    assert.throws(
      () => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_PUBLIC_KEY_FILE: pem }),
      failsNaming('AUTH_MODE', /both set/),
    );
  });

  it('picks the algorithm from the key: RS256 for RSA, ES256 for P-256', () => {
    const rsa = file('rsa.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const ec = file('ec.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const algorithmOf = (path: string) => {
      const auth = loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_PUBLIC_KEY_FILE: path }).auth;
      return auth.mode === 'jwt' && auth.key.kind === 'public-key' ? auth.key.algorithm : undefined;
    };
    assert.deepEqual([algorithmOf(rsa), algorithmOf(ec)], ['RS256', 'ES256']);
  });

  it('a bad key fails naming its variable, and never echoes a secret', () => {
    const short = 'too-short-secret';
    assert.throws(
      () => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: short }),
      (err: unknown) => failsNaming('AUTH_JWT_SECRET')(err) && !(err as Error).message.includes(short),
    );
    assert.throws(() => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_PUBLIC_KEY_FILE: join(dir, 'missing.pem') }), failsNaming('AUTH_JWT_PUBLIC_KEY_FILE', /ENOENT/));
    assert.throws(() => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_PUBLIC_KEY_FILE: file('junk.pem', 'not a key') }), failsNaming('AUTH_JWT_PUBLIC_KEY_FILE'));
    const ed = file('ed.pem', generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
    assert.throws(() => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWT_PUBLIC_KEY_FILE: ed }), failsNaming('AUTH_JWT_PUBLIC_KEY_FILE', /ed25519/));
    assert.throws(() => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_FILE: file('bad.json', '{') }), failsNaming('AUTH_JWKS_FILE'));
    assert.throws(() => loadConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_FILE: file('empty.json', '{"keys":[]}') }), failsNaming('AUTH_JWKS_FILE'));
    assert.throws(() => loadConfig({ AUTH_MODE: 'basic' }), failsNaming('AUTH_MODE'));
  });
});
