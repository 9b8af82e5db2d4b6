import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { get, startTestApp, type TestApp } from '../helpers/test-app.js';

const SECRET = 'token-lifetime-test-secret-0123456789ab';
const HOUR = 3_600;

describe('token lifetime (AUTH_JWT_MAX_AGE)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ env: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET } });
  });
  afterEach(() => t.close());

  const nowSeconds = () => Math.floor(t.clock.now() / 1000);
  const sign = (claims: { iat?: number; exp: number }) =>
    new SignJWT({ role: 'customer', ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(new TextEncoder().encode(SECRET));
  const readOrder = async (claims: { iat?: number; exp: number }) => {
    const res = await get(t, '/order/none', { authorization: `Bearer ${await sign(claims)}` });
    return { status: res.status, code: res.body.code as string, error: res.body.error as string };
  };

  it('accepts a token living exactly the default 24 h, with or without iat', async () => {
    assert.equal((await readOrder({ iat: nowSeconds(), exp: nowSeconds() + 24 * HOUR })).status, 404);
    assert.equal((await readOrder({ exp: nowSeconds() + 24 * HOUR })).status, 404);
  });

  it('refuses a token whose lifetime is longer than 24 h: exp - iat, or exp - now without iat', async () => {
    for (const claims of [{ iat: nowSeconds() - HOUR, exp: nowSeconds() + 23 * HOUR + 1 }, { exp: nowSeconds() + 24 * HOUR + 1 }, { exp: 1e20 }]) {
      assert.deepEqual(await readOrder(claims), {
        status: 401,
        code: 'UNAUTHENTICATED',
        error: "The token's lifetime is longer than the 86400 s allowed",
      }, JSON.stringify(claims));
    }
  });

  it('refuses a token issued in the future beyond the 5 s of clock skew', async () => {
    assert.equal((await readOrder({ iat: nowSeconds() + 5, exp: nowSeconds() + HOUR })).status, 404);
    assert.deepEqual(await readOrder({ iat: nowSeconds() + 6, exp: nowSeconds() + HOUR }), {
      status: 401,
      code: 'UNAUTHENTICATED',
      error: 'The token was issued in the future',
    });
  });

  it('AUTH_JWT_MAX_AGE sets the longest lifetime allowed', async () => {
    await t.close();
    t = await startTestApp({ env: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET, AUTH_JWT_MAX_AGE: '600' } });
    assert.equal((await readOrder({ iat: nowSeconds(), exp: nowSeconds() + 600 })).status, 404);
    assert.equal((await readOrder({ iat: nowSeconds(), exp: nowSeconds() + 601 })).status, 401);
  });
});
