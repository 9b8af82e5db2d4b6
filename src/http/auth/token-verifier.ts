import { createPublicKey, createSecretKey } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type KeyObject } from 'jose';
import type { JwtKey } from '../../config.js';
import type { Clock } from '../../domain/clock.js';
import { DomainError } from '../../domain/errors.js';
import { ROLES, type Principal, type Role } from './principal.js';

export interface TokenSettings {
  key: JwtKey;
  issuer: string | undefined;
  audience: string | undefined;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

// A sub is the userId a customer acts as, so it obeys the userId rules: 1–128 printable characters.
const SUB_PATTERN = /^[^\p{Cc}\p{Cs}]{1,128}$/u;
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
    const { sub, role } = payload as { sub?: unknown; role?: unknown };
    if (typeof sub !== 'string' || !SUB_PATTERN.test(sub)) throw invalidToken('The token has no usable sub');
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
      throw invalidToken(`The token's role must be one of ${ROLES.join(', ')}`);
    }
    return { sub, role: role as Role };
  };
}
