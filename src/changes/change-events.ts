// Membership events read from the outbox: the change log's order over the history entries it names. The changes
// feed pages through them, and each webhook subscription's delivery works through them from its own position.
import { db } from '../platform/db/index.js';
import { history } from '../membership/membership-store.js';
import type { HistoryDoc, MembershipSource } from '../membership/membership.model.js';
import { logSeq, readLogAfter } from './change-log.js';

export const EVENT_TYPES = ['membership.added', 'membership.removed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A place in the log: every entry numbered `seq` or below has been read, and the first `skip` events of entry
 * `seq + 1`. Positions only move forward.
 */
export interface LogPosition {
  seq: number;
  skip: number;
}

export interface ChangeEvent {
  /** The history entry's `_id`: unique per change, the webhook-id of its deliveries. */
  id: string;
  type: EventType;
  at: Date;
  groupId: string;
  externalId: string;
  source: MembershipSource;
  reason: string;
  ruleVersion?: number;
  /** The position just after this event. */
  after: LogPosition;
}

export function toEvent(h: HistoryDoc, after: LogPosition): ChangeEvent {
  return {
    id: h._id,
    type: h.action === 'added' ? 'membership.added' : 'membership.removed',
    at: h.at,
    groupId: h.group,
    externalId: h.externalId,
    source: h.source,
    reason: h.reason,
    ...(h.ruleVersion !== undefined ? { ruleVersion: h.ruleVersion } : {}),
    after,
  };
}

export interface ReadOptions {
  /** Only the events of these groups. */
  groups?: ReadonlySet<string> | undefined;
  /** At most this many events. */
  limit: number;
  /** At most this many log entries looked at (a feed of a few groups may pass many entries of other groups). */
  maxEntries?: number;
}

/** Log entries read at once at most while looking for events. */
const MAX_ENTRIES_PER_READ = 16;

/** History `_id`s start with their group's id (membership.model.ts historyId), so a group filter needs no read. */
const groupOf = (historyId: string): string => historyId.slice(0, historyId.indexOf(':'));

/**
 * The events after `from`, oldest first, and the position to continue from: after the last event returned, or
 * after every entry looked at when fewer than `limit` matched. An event whose history is gone (its group was
 * deleted) is passed over; an event the log names twice (two writers logging one change at once) is returned once.
 */
export async function readEvents(from: LogPosition, opts: ReadOptions): Promise<{ events: ChangeEvent[]; next: LogPosition }> {
  const wanted: Array<{ id: string; after: LogPosition }> = [];
  let next = from;
  const maxEntries = opts.maxEntries ?? 64;
  let looked = 0;
  // One entry first, then more at a time while they prove small: an entry may name thousands of events (a sync's
  // write), and each is read whole, or one (a user's change).
  const entries = async function* () {
    let after = from.seq;
    let n = 1;
    while (looked < maxEntries) {
      const batch = await readLogAfter(after, Math.min(n, maxEntries - looked));
      looked += batch.length;
      yield* batch;
      if (batch.length === 0) return;
      after = logSeq(batch[batch.length - 1]!._id);
      n = Math.min(MAX_ENTRIES_PER_READ, n * 4);
    }
  };
  scan: for await (const entry of entries()) {
    const n = logSeq(entry._id);
    const start = n === from.seq + 1 ? from.skip : 0;
    if (opts.groups && !entry.groups.some((g) => opts.groups!.has(g))) {
      next = { seq: n, skip: 0 };
      continue;
    }
    for (let k = start; k < entry.events.length; k++) {
      const id = entry.events[k]!;
      const after = k + 1 === entry.events.length ? { seq: n, skip: 0 } : { seq: n - 1, skip: k + 1 };
      if (!opts.groups || opts.groups.has(groupOf(id))) wanted.push({ id, after });
      next = after;
      if (wanted.length >= opts.limit) break scan;
    }
    next = { seq: n, skip: 0 };
  }
  const stored = await db().readByIds(history(), [...new Set(wanted.map((w) => w.id))]);
  const seen = new Set<string>();
  const events: ChangeEvent[] = [];
  for (const w of wanted) {
    const h = stored.get(w.id);
    if (!h || seen.has(w.id)) continue;
    seen.add(w.id);
    events.push(toEvent(h, w.after));
  }
  return { events, next };
}

/**
 * `events` with each removal put after the addition of the same membership when the log has them the other way
 * round. A membership's history ids share `<group>:<user>:<added-at ms>:`, so a removal names the addition it
 * undoes. The log orders them by when each was logged, and an addition is logged after its membership is stored:
 * a writer that removes that membership in between can log its removal first. Read in that order, a receiver would
 * end with a member who is not one. Nothing else moves.
 */
export function causalOrder<E extends { id: string }>(events: readonly E[]): E[] {
  const out = [...events];
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    if (!e.id.endsWith(':removed')) continue;
    const added = `${e.id.slice(0, -':removed'.length)}:added`;
    const j = out.findIndex((x, k) => k > i && x.id === added);
    if (j < 0) continue;
    out.splice(i, 1);
    out.splice(j, 0, e);
    i--;
  }
  return out;
}

