import { createPublicKey, createSecretKey } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type KeyObject } from 'jose';
import type { JwtKey } from '../../config.js';
import type { Clock } from '../../domain/clock.js';
import { DomainError } from '../../domain/errors.js';
import { isValidUserId } from '../schemas/common.schema.js';
import { ROLES, type Principal, type Role } from './principal.js';

export interface TokenSettings {
  key: JwtKey;
  issuer: string | undefined;
  audience: string | undefined;
  /** AUTH_JWT_MAX_AGE: the longest lifetime (exp - iat) a token may claim. */
  maxAgeSeconds: number;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

// Algorithms are pinned per key kind: a token can never pick "none", nor HS256 with a public key as its secret.
const ASYMMETRIC = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 5;

export const invalidToken = (message: string): DomainError =>
  new DomainError('UNAUTHENTICATED', message, { reason: 'invalid_token' });

function keyFor(key: JwtKey): { key: KeyObject | JWTVerifyGetKey; algorithms: string[] } {
  switch (key.kind) {
    case 'secret':
      return { key: createSecretKey(Buffer.from(key.secret, 'utf8')), algorithms: ['HS256'] };
    case 'public-key':
      return { key: createPublicKey(key.pem), algorithms: [key.algorithm] };
    case 'jwks':
      return { key: createLocalJWKSet(key.jwks as Parameters<typeof createLocalJWKSet>[0]), algorithms: ASYMMETRIC };
  }
}

/**
 * A stolen token is only as dangerous as it is long-lived: `exp=1e20` or an `iat` in the future
 * would make one good for ever. jose has already checked `exp` (present, not past) and that `iat`,
 * if present, is a number.
 */
function checkLifetime(payload: { exp?: number; iat?: number }, nowSeconds: number, maxAgeSeconds: number): void {
  const { exp, iat } = payload;
  if (iat !== undefined && iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) throw invalidToken('The token was issued in the future');
  if ((exp as number) - (iat ?? nowSeconds) > maxAgeSeconds) {
    throw invalidToken(`The token's lifetime is longer than the ${maxAgeSeconds} s allowed`);
  }
}

/** Verifies signature, algorithm, expiry (on the injected clock), issuer and audience, then reads sub and role. */
export function makeTokenVerifier(settings: TokenSettings, clock: Clock): TokenVerifier {
  const { key, algorithms } = keyFor(settings.key);
  return async (token) => {
    let payload;
    try {
      const options = {
        algorithms,
        currentDate: new Date(clock.now()),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'sub'],
        ...(settings.issuer !== undefined ? { issuer: settings.issuer } : {}),
        ...(settings.audience !== undefined ? { audience: settings.audience } : {}),
      };
      // Two calls rather than a union argument: jose types a key function and a key separately.
      payload = (typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options)).payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw invalidToken('The token has expired');
      if (err instanceof joseErrors.JOSEError) throw invalidToken('The token is not valid');
      throw err;
    }
    checkLifetime(payload, clock.now() / 1000, settings.maxAgeSeconds);
    const { sub, role } = payload as { sub?: unknown; role?: unknown };
    // A sub is the userId a customer acts as, so it obeys the userId rules.
    if (typeof sub !== 'string' || !isValidUserId(sub)) throw invalidToken('The token has no usable sub');
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw invalidToken(`The token's role must be one of ${ROLES.join(', ')}`);
    }
    return { sub, role: role as Role };
  };
}
