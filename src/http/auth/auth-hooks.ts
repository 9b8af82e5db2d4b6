import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import type { Role } from './principal.js';
import { invalidToken, type TokenVerifier } from './token-verifier.js';

/**
 * Who may call a route, set in its `config.access`:
 * - public: anyone (health, the catalog);
 * - user: any signed-in role; a customer only for their own userId (the default);
 * - staff: service or admin (payment callbacks);
 * - admin: admin only (creating products, the ledger);
 * - metrics: admin, or whoever presents METRICS_TOKEN as the bearer (a Prometheus scraper).
 */
export type Access = 'public' | 'user' | 'staff' | 'admin' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export const ALLOWED_ROLES: Record<Exclude<Access, 'public'>, readonly Role[]> = {
  user: ['customer', 'service', 'admin'],
  staff: ['service', 'admin'],
  admin: ['admin'],
  metrics: ['admin'],
};

const sameSecret = (given: string, expected: string): boolean =>
  given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));

const BEARER = /^Bearer +([A-Za-z0-9_.~+/-]+=*)$/i;

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = BEARER.exec(header);
  if (!match?.[1]) throw invalidToken('Send the token as Authorization: Bearer <token>');
  return match[1];
}

/**
 * With authentication on, every request is identified before routing decisions and limits run,
 * and a customer may only name themselves. With it off, nothing is registered: `principal`
 * stays null and requests pay nothing for it.
 */
export function registerAuth(app: FastifyInstance, verify: TokenVerifier | null, options: { metricsToken?: string } = {}): void {
  const { metricsToken } = options;
  app.decorateRequest('principal', null);
  if (!verify) return;

  app.addHook('onRequest', async (request) => {
    // Unknown routes answer 404 whoever asks.
    if (request.is404) return;
    const access = request.routeOptions.config.access ?? 'user';
    const token = bearerToken(request);
    if (token === undefined) {
      if (access === 'public') return;
      throw new DomainError('UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <token>', {
        reason: 'missing_token',
      });
    }
    if (access === 'metrics' && metricsToken !== undefined && sameSecret(token, metricsToken)) return;
    const principal = await verify(token);
    request.principal = principal;
    if (access !== 'public' && !ALLOWED_ROLES[access].includes(principal.role)) {
      throw new DomainError('FORBIDDEN', `The ${principal.role} role may not call this route`, { role: principal.role });
    }
  });

  // After validation, so the body is known to be well formed.
  app.addHook('preHandler', async (request) => {
    const principal = request.principal;
    if (principal?.role !== 'customer') return;
    const userId = (request.body as { userId?: unknown } | undefined)?.userId;
    if (userId !== undefined && userId !== principal.sub) {
      throw new DomainError('FORBIDDEN', 'A customer may act only for their own userId', { userId });
    }
  });
}

/** The userId a read is limited to: a customer sees only their own reservations and orders. */
export const viewerOf = (request: FastifyRequest): string | undefined =>
  request.principal?.role === 'customer' ? request.principal.sub : undefined;
