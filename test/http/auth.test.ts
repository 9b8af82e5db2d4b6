import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { exportJWK, SignJWT } from 'jose';
import { ManualClock } from '../../src/domain/clock.js';
import { get, post, productOf, startTestApp, type TestApp } from '../helpers/test-app.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const AUTH_ENV = { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: SECRET };

type Claims = { sub?: unknown; role?: unknown; exp?: number };

/** Signs with HS256 and the test secret, valid for an hour of the app's clock unless told otherwise. */
async function token(t: TestApp, claims: Claims, secret = SECRET): Promise<string> {
  const nowSeconds = Math.floor(t.clock.now() / 1000);
  return new SignJWT({ role: claims.role, ...(claims.sub !== undefined ? { sub: claims.sub as string } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(claims.exp ?? nowSeconds + 3600)
    .sign(new TextEncoder().encode(secret));
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

describe('authentication and ownership (AUTH_MODE=jwt)', () => {
  let t: TestApp;
  let admin: Record<string, string>;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  let storefront: Record<string, string>;

  beforeEach(async () => {
    t = await startTestApp({ env: AUTH_ENV });
    admin = bearer(await token(t, { sub: 'ops', role: 'admin' }));
    alice = bearer(await token(t, { sub: 'alice', role: 'customer' }));
    bob = bearer(await token(t, { sub: 'bob', role: 'customer' }));
    storefront = bearer(await token(t, { sub: 'storefront', role: 'service' }));
    const created = await post(t, '/inventory', { sku: 'GPU', productName: 'GPU', price: 10, totalQuantity: 5 }, admin);
    assert.equal(created.status, 201);
  });
  afterEach(() => t.close());

  it('a request without a token gets 401 with WWW-Authenticate, while health and the catalog stay public', async () => {
    const res = await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 1 });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'UNAUTHENTICATED');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="stockhold"');
    assert.equal((await get(t, '/healthz')).status, 200);
    assert.equal((await get(t, '/inventory')).status, 200);
    assert.equal((await get(t, '/inventory/GPU')).status, 200);
    assert.equal((await get(t, '/openapi.json')).status, 200);
    assert.equal((await productOf(t, 'GPU')).reservedQuantity, 0);
  });

  it('forged, expired, unsigned, role-less and malformed tokens are all 401 invalid_token, and hold nothing', async () => {
    const nowSeconds = Math.floor(t.clock.now() / 1000);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'alice', role: 'admin', exp: nowSeconds + 60 }),
    ).toString('base64url')}.`;
    const refused = {
      forged: await token(t, { sub: 'alice', role: 'customer' }, 'another-secret-that-is-also-long-enough'),
      expired: await token(t, { sub: 'alice', role: 'customer', exp: nowSeconds - 60 }),
      unsigned,
      'no role': await token(t, { sub: 'alice' }),
      'unknown role': await token(t, { sub: 'alice', role: 'root' }),
      'no sub': await token(t, { role: 'customer' }),
      'not a jwt': 'hello',
    };
    for (const [kind, jwt] of Object.entries(refused)) {
      const res = await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 1 }, bearer(jwt));
      assert.equal(res.status, 401, kind);
      assert.equal(res.body.code, 'UNAUTHENTICATED', kind);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="stockhold", error="invalid_token"', kind);
    }
    const basic = await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 1 }, { authorization: 'Basic YTpi' });
    assert.equal(basic.status, 401);
    assert.equal((await productOf(t, 'GPU')).reservedQuantity, 0);
  });

  it('a token expires on the injected clock', async () => {
    const body = { userId: 'alice', sku: 'GPU', quantity: 1 };
    assert.equal((await post(t, '/inventory/reserve', body, alice)).status, 201);
    t.clock.advance(3600_000 + 6_000);
    const res = await post(t, '/inventory/reserve/cancel', { reservationId: 'x', userId: 'alice' }, alice);
    assert.equal(res.status, 401);
    assert.match(res.body.error, /expired/);
  });

  it('a customer may reserve only as themselves: another userId is 403 and holds nothing', async () => {
    const res = await post(t, '/inventory/reserve', { userId: 'bob', sku: 'GPU', quantity: 1 }, alice);
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'FORBIDDEN');
    assert.equal((await productOf(t, 'GPU')).reservedQuantity, 0);
    assert.equal((await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 1 }, alice)).status, 201);
  });

  it("someone else's reservation or order is the same 404 as an unknown id, on every route", async () => {
    const reservation = (await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 1 }, alice)).body.data;
    const order = (await post(t, '/checkout/confirm', { reservationId: reservation.reservationId, userId: 'alice' }, alice)).body.data;
    const second = (await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 2 }, alice)).body.data;
    const unknown = '01900000-0000-7000-8000-000000000000';

    const probe = async (id: string, kind: 'reservation' | 'order') => {
      const read = await get(t, `/${kind}/${id}`, bob);
      return { status: read.status, code: read.body.code };
    };
    assert.deepEqual(await probe(second.reservationId, 'reservation'), await probe(unknown, 'reservation'));
    assert.deepEqual(await probe(order.orderId, 'order'), await probe(unknown, 'order'));
    assert.deepEqual(await probe(order.orderId, 'order'), { status: 404, code: 'ORDER_NOT_FOUND' });

    const asBob = { reservationId: second.reservationId, userId: 'bob' };
    for (const url of ['/inventory/reserve/cancel', '/checkout/confirm', '/checkout/cancel']) {
      const res = await post(t, url, asBob, bob);
      assert.equal(res.status, 404, url);
      assert.equal(res.body.code, 'RESERVATION_NOT_FOUND', url);
    }
    const cancelOrder = await post(t, '/checkout/cancel', { orderId: order.orderId, userId: 'bob' }, bob);
    assert.deepEqual([cancelOrder.status, cancelOrder.body.code], [404, 'ORDER_NOT_FOUND']);

    // Nothing bob tried moved alice's units.
    const product = await productOf(t, 'GPU');
    assert.deepEqual([product.reservedQuantity, product.soldQuantity], [2, 1]);
    assert.equal((await get(t, `/reservation/${second.reservationId}`, alice)).status, 200);
    assert.equal((await get(t, `/order/${order.orderId}`, alice)).status, 200);
  });

  it('a service acts for any userId it names, and may read any reservation', async () => {
    const forCarol = await post(t, '/inventory/reserve', { userId: 'carol', sku: 'GPU', quantity: 1 }, storefront);
    assert.equal(forCarol.status, 201);
    assert.equal(forCarol.body.data.userId, 'carol');
    const read = await get(t, `/reservation/${forCarol.body.data.reservationId}`, storefront);
    assert.equal(read.status, 200);
    const order = await post(t, '/checkout/confirm', { reservationId: forCarol.body.data.reservationId, userId: 'carol' }, storefront);
    assert.equal(order.status, 201);
    assert.equal((await post(t, `/order/${order.body.data.orderId}/payment`, { status: 'SUCCESS' }, storefront)).status, 200);
  });

  it('only admins create, restock or adjust products or read the ledger; only staff record payments', async () => {
    const product = { sku: 'NEW', productName: 'New', price: 1, totalQuantity: 1 };
    for (const [who, headers] of [
      ['customer', alice],
      ['service', storefront],
    ] as const) {
      const res = await post(t, '/inventory', product, headers);
      assert.deepEqual([res.status, res.body.code], [403, 'FORBIDDEN'], who);
      assert.equal((await get(t, '/inventory/GPU/movements', headers)).status, 403, who);
    }
    for (const [who, headers] of [
      ['customer', alice],
      ['service', storefront],
    ] as const) {
      assert.equal((await post(t, '/inventory/GPU/restock', { quantity: 5 }, headers)).status, 403, who);
      assert.equal((await post(t, '/inventory/GPU/adjust', { delta: -1 }, headers)).status, 403, who);
    }
    assert.equal((await get(t, '/inventory/NEW')).status, 404);
    assert.equal((await productOf(t, 'GPU')).totalQuantity, 5);
    assert.equal((await post(t, '/inventory/GPU/restock', { quantity: 5 }, admin)).status, 200);
    assert.equal((await post(t, '/inventory/GPU/adjust', { delta: -1 }, admin)).status, 200);
    assert.equal((await productOf(t, 'GPU')).totalQuantity, 9);
    assert.equal((await get(t, '/inventory/GPU/movements', admin)).status, 200);

    const reservation = (await post(t, '/inventory/reserve', { userId: 'alice', sku: 'GPU', quantity: 1 }, alice)).body.data;
    const order = (await post(t, '/checkout/confirm', { reservationId: reservation.reservationId, userId: 'alice' }, alice)).body.data;
    const paid = await post(t, `/order/${order.orderId}/payment`, { status: 'SUCCESS' }, alice);
    assert.deepEqual([paid.status, paid.body.code], [403, 'FORBIDDEN']);
    assert.equal((await get(t, `/order/${order.orderId}`, alice)).body.data.paymentStatus, 'PENDING');
    assert.equal((await post(t, `/order/${order.orderId}/payment`, { status: 'SUCCESS' }, admin)).status, 200);
  });
});

describe('browsers under AUTH_MODE=jwt', () => {
  it('a CORS preflight needs no token, and allows the Authorization header', async () => {
    const t = await startTestApp({ env: { ...AUTH_ENV, CORS_ORIGINS: 'https://shop.example.com' } });
    try {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url: '/inventory/reserve',
        headers: {
          origin: 'https://shop.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      assert.equal(res.statusCode, 204);
      assert.equal(res.headers['access-control-allow-origin'], 'https://shop.example.com');
      assert.match(String(res.headers['access-control-allow-headers']), /authorization/);
    } finally {
      await t.close();
    }
  });
});

describe('public-key tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stockhold-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sign = (alg: string, key: Parameters<SignJWT['sign']>[0], role = 'customer', kid?: string) =>
    new SignJWT({ role })
      .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
      .setSubject('dana')
      // The test apps run on a manual clock, not on today's date.
      .setExpirationTime(Math.floor(new ManualClock().now() / 1000) + 3600)
      .sign(key);

  it('RS256 with a PEM public key file: its own tokens pass; an HS256 token keyed with the public key is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    writeFileSync(join(dir, 'rsa.pem'), pem);
    const env = { AUTH_MODE: 'jwt', AUTH_JWT_PUBLIC_KEY_FILE: join(dir, 'rsa.pem') };
    assert.equal(await reserveWithAdmin(env, await sign('RS256', privateKey)), 201);
    // The classic algorithm-confusion attack: HS256 with the public key's bytes as the secret.
    assert.equal(await reserveWithAdmin(env, await sign('HS256', new TextEncoder().encode(pem))), 401);
  });

  it('ES256 through a JWKS file, picked by kid; a key not in the set is refused', async () => {
    const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(await exportJWK(trusted.publicKey)), kid: 'shop-1', alg: 'ES256', use: 'sig' };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    const env = { AUTH_MODE: 'jwt', AUTH_JWKS_FILE: join(dir, 'jwks.json') };
    assert.equal(await reserveWithAdmin(env, await sign('ES256', trusted.privateKey, 'customer', 'shop-1')), 201);
    assert.equal(await reserveWithAdmin(env, await sign('ES256', stranger.privateKey, 'customer', 'shop-1')), 401);
  });

  /** A fresh app with one unit of KEYED, reserved with `jwt`: the answer's status. */
  async function reserveWithAdmin(env: Record<string, string>, jwt: string): Promise<number> {
    const t = await startTestApp({ env: { ...env } });
    try {
      // Seed through the service, not HTTP: these tests are about the customer's token alone.
      await t.inventory.create({ sku: 'KEYED', productName: 'Keyed', priceMinor: 100, onHand: 1, maxPerUser: null });
      return (await post(t, '/inventory/reserve', { userId: 'dana', sku: 'KEYED', quantity: 1 }, bearer(jwt))).status;
    } finally {
      await t.close();
    }
  }
});
