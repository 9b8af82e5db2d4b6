import { randomUUID } from 'node:crypto';

export type IdGenerator = () => string;

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made close in time sort
 * close together, so inserts land on the same few index pages instead of anywhere in the B-tree;
 * under a flash-sale load that is far fewer dirty pages per commit than random v4 ids.
 */
export function uuidv7(now: number = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  // randomUUID() draws from a cached entropy pool; keep its random tail and variant bits.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

export const uuidGenerator: IdGenerator = () => uuidv7();
