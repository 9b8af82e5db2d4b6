import { DomainError } from '../domain/errors.js';

/**
 * How someone else's reservation or order is answered. `reveal` is the open contract (no
 * authentication): 403 NOT_OWNER. `hide` is for authenticated callers: the same 404 as an
 * unknown id (`notFound`, the error an unknown id gets), so ids can't be probed.
 */
export type OwnershipPolicy = 'reveal' | 'hide';

export function notYours(policy: OwnershipPolicy, kind: 'reservation' | 'order', notFound: DomainError): DomainError {
  return policy === 'hide' ? notFound : new DomainError('NOT_OWNER', `This ${kind} belongs to another user`);
}
