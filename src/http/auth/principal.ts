// Who is calling: set on every request by the auth hook before any route or limit runs.
export const ROLES = ['customer', 'service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  /** The token's `sub`. For a customer it is the userId they may act as. */
  sub: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** null when AUTH_MODE=off: nobody is authenticated and ownership is not enforced. */
    principal: Principal | null;
  }
}
