import { DomainError } from '../domain/errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to clients: base64url of the last row's sort key. */
export const encodeCursor = (key: string | number): string => Buffer.from(String(key), 'utf8').toString('base64url');

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return null;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (decoded === '' || encodeCursor(decoded) !== cursor || /[\u0000-\u001f]/.test(decoded)) throw invalidCursor();
  return decoded;
}

export const invalidCursor = (): DomainError =>
  new DomainError('VALIDATION_ERROR', 'cursor is not one this API issued', {
    errors: [{ field: 'cursor', message: 'invalid cursor' }],
  });

/** Fetches one row more than asked, to know whether another page follows. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string | number): PageOf<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
