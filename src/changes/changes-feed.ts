// GET /api/v1/changes: membership changes after a cursor, oldest first, for clients that catch up by pulling. The
// cursor is a position in the change log (change-events.ts), so a change committed late by a slow process is
// still after every cursor handed out before it was logged: a client that follows `nextCursor` misses nothing.
import { GoneError, ValidationError } from '../platform/errors.js';
import { logBounds } from './change-log.js';
import { causalOrder, readEvents, type ChangeEvent, type LogPosition } from './change-events.js';

interface ChangeItem {
  id: string;
  at: string;
  type: ChangeEvent['type'];
  groupId: string;
  externalId: string;
  source: string;
  reason: string;
  ruleVersion?: number;
}

export interface ChangesPage {
  items: ChangeItem[];
  nextCursor: string;
}

/** Log entries one request looks at, at most (a feed of a few groups among many passes most entries over). */
const ENTRIES_PER_REQUEST = 256;

function encodePosition(p: LogPosition): string {
  return Buffer.from(JSON.stringify({ s: p.seq, k: p.skip }), 'utf8').toString('base64url');
}

function decodePosition(cursor: string): LogPosition {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { s?: unknown; k?: unknown };
    if (Number.isSafeInteger(v.s) && Number.isSafeInteger(v.k) && (v.s as number) >= 0 && (v.k as number) >= 0) return { seq: v.s as number, skip: v.k as number };
  } catch {
    // falls through to the error below
  }
  throw new ValidationError('The cursor is not one this service issued.', [{ path: 'cursor', message: 'invalid cursor' }]);
}

function toItem(e: ChangeEvent): ChangeItem {
  return {
    id: e.id,
    at: e.at.toISOString(),
    type: e.type,
    groupId: e.groupId,
    externalId: e.externalId,
    source: e.source,
    reason: e.reason,
    ...(e.ruleVersion !== undefined ? { ruleVersion: e.ruleVersion } : {}),
  };
}

/** Without a cursor: no items, and a cursor at the present. */
export async function readChanges(query: { cursor?: string; groups?: readonly string[]; limit: number }): Promise<ChangesPage> {
  const { head, floor } = await logBounds();
  if (query.cursor === undefined) return { items: [], nextCursor: encodePosition({ seq: head, skip: 0 }) };
  const from = decodePosition(query.cursor);
  if (from.seq > head) throw new ValidationError('The cursor is not one this service issued.', [{ path: 'cursor', message: 'invalid cursor' }]);
  // Changes after the cursor were pruned: it is older than the feed keeps (at least 7 days).
  if (from.seq + 1 < floor) throw new GoneError('This cursor has expired: the changes after it are no longer kept. Read the members again, then start from a new cursor (GET /api/v1/changes without one).');
  const { events, next } = await readEvents(from, {
    limit: query.limit,
    maxEntries: ENTRIES_PER_REQUEST,
    ...(query.groups?.length ? { groups: new Set(query.groups) } : {}),
  });
  // The page is read whole, so reordering within it passes nothing over.
  return { items: causalOrder(events).map(toItem), nextCursor: encodePosition(next) };
}
