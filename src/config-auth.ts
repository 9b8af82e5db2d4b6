import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, integer, read } from './config.js';

type Env = Record<string, string | undefined>;

/** How a JWT's signature is checked: a shared secret (HS256), one public key, or a JWKS file. */
export type JwtKey =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; pem: string; algorithm: 'RS256' | 'ES256' }
  | { kind: 'jwks'; jwks: { keys: Record<string, unknown>[] } };

export type AuthConfig =
  | { mode: 'off' }
  | { mode: 'jwt'; key: JwtKey; issuer: string | undefined; audience: string | undefined; maxAgeSeconds: number };

const MIN_SECRET_LENGTH = 32;

function readKeyFile(env: Env, name: string): string {
  const path = read(env, name) as string;
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(name, `cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function jwtKey(env: Env): JwtKey {
  const given = ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY_FILE', 'AUTH_JWKS_FILE'].filter((name) => read(env, name) !== undefined);
  if (given.length !== 1) {
    const problem = given.length === 0 ? 'none is set' : `${given.join(' and ')} are both set`;
    throw new ConfigError('AUTH_MODE', `jwt needs exactly one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_FILE; ${problem}`);
  }
  if (given[0] === 'AUTH_JWT_SECRET') {
    const secret = read(env, 'AUTH_JWT_SECRET') as string;
    // HS256 is only as strong as its key: RFC 7518 asks for at least 256 bits.
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError('AUTH_JWT_SECRET', `must be at least ${MIN_SECRET_LENGTH} characters, got ${secret.length}`);
    }
    return { kind: 'secret', secret };
  }
  if (given[0] === 'AUTH_JWT_PUBLIC_KEY_FILE') {
    const pem = readKeyFile(env, 'AUTH_JWT_PUBLIC_KEY_FILE');
    let key;
    try {
      key = createPublicKey(pem);
    } catch {
      throw new ConfigError('AUTH_JWT_PUBLIC_KEY_FILE', 'expected a PEM public key (RSA for RS256, P-256 EC for ES256)');
    }
    if (key.asymmetricKeyType === 'rsa') return { kind: 'public-key', pem, algorithm: 'RS256' };
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      return { kind: 'public-key', pem, algorithm: 'ES256' };
    }
    throw new ConfigError('AUTH_JWT_PUBLIC_KEY_FILE', `expected an RSA or P-256 EC public key, got ${key.asymmetricKeyType ?? 'another kind'}`);
  }
  const text = readKeyFile(env, 'AUTH_JWKS_FILE');
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw new ConfigError('AUTH_JWKS_FILE', 'is not valid JSON');
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k !== null && typeof k === 'object')) {
    throw new ConfigError('AUTH_JWKS_FILE', 'expected a JWK Set: {"keys": [ ... ]} with at least one key');
  }
  return { kind: 'jwks', jwks: { keys: keys as Record<string, unknown>[] } };
}

export function parseAuth(env: Env, nodeEnv: string): AuthConfig {
  const mode = (read(env, 'AUTH_MODE') ?? 'off').toLowerCase();
  if (mode !== 'off' && mode !== 'jwt') throw new ConfigError('AUTH_MODE', `expected off or jwt, got "${mode}"`);
  if (mode === 'off') {
    if (nodeEnv === 'production') {
      throw new ConfigError('AUTH_MODE', 'NODE_ENV=production refuses to serve without authentication; set AUTH_MODE=jwt and a key');
    }
    return { mode: 'off' };
  }
  return {
    mode: 'jwt',
    key: jwtKey(env),
    issuer: read(env, 'AUTH_JWT_ISSUER'),
    audience: read(env, 'AUTH_JWT_AUDIENCE'),
    // Seconds, as JWT times are: a token may live at most this long (exp - iat).
    maxAgeSeconds: integer(env, 'AUTH_JWT_MAX_AGE', 86_400, 60, 31 * 86_400),
  };
}
