// Cursor pagination shared by every list endpoint: `?limit=` (default 50, max 1000) and an opaque `?cursor=`
// that encodes the sort key of the last item returned. Sorting by a unique key keeps pages stable under writes.
import Joi from 'joi';
import { ValidationError } from './errors.js';

export interface PageRequest {
  limit: number;
  after?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const pageSchema = {
  limit: Joi.number().integer().min(1).max(1000).default(50).description('How many items a page holds'),
  cursor: Joi.string().max(512).description('Opaque: the nextCursor of the previous page'),
};

/** The query of a list that takes nothing but the page. */
export const pageQuerySchema = Joi.object(pageSchema);

export function pageRequest(query: { limit?: number; cursor?: string }): PageRequest {
  const limit = query.limit ?? 50;
  if (query.cursor === undefined) return { limit };
  return { limit, after: decodeCursor(query.cursor) };
}

export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ a: after }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { a?: unknown };
    if (typeof parsed.a === 'string') return parsed.a;
  } catch {
    // fall through
  }
  throw new ValidationError('The cursor is not one this service issued.', [{ path: 'cursor', message: 'invalid cursor' }]);
}

/** The filter that continues after the cursor on `key` (ascending). */
export function pageQuery(page: PageRequest, key: string): Record<string, unknown> {
  return page.after === undefined ? {} : { [key]: { $gt: page.after } };
}

/** Callers fetch limit + 1 rows; the extra one says whether a next page exists. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1]!)) };
}
