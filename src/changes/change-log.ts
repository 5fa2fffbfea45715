// The order of membership changes: the outbox that the changes feed and webhook deliveries read.
//
// The events themselves are the membership history (membership-store.ts): one entry per real change, with an `_id`
// derived from the change, written exactly once. What history lacks is an order of commit: its `at` is the writer's
// instant (a job's fixed instant, minutes before some of its writes land), so a reader paging history by time would
// skip an entry committed after it read past that time. This log gives one: entries numbered 1, 2, 3… with no gaps,
// each naming the history entries (by `_id`) that one write committed, appended after those history entries are
// stored. A reader that has read up to number n has seen every change whose entry is numbered n or below, and every
// later one will be numbered above n: nothing is skipped, whichever process wrote it, however late.
//
// Numbers are taken by inserting the entry with the chosen `_id`, the one write with exactly one winner on both
// backends; a writer tries the number after the highest it knows of and moves on at each duplicate, so an entry is
// only written once every lower number is taken. The log holds pointers, not a copy: a reader reads the history
// entries it names (point reads by `_id`).
//
// Writers append from the store, after the history insert and before a removal's delete: a process that dies in
// between leaves history not in the log, and the re-run that finishes its write (a job run again, a directory
// change replayed) appends it then. Entries name the writers (`runs`) of the history they list, so that a re-run,
// or a writer whose history insert lost to another's, appends only what no entry names yet (appendUnlessLogged).
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { db, declareIndex } from '../platform/db/index.js';
import { insertNumbered, raiseHead } from '../platform/db/numbered-log.js';

/** A history entry to put in the log: its `_id`, its group and the writer whose insert stored it. */
export interface LoggedEvent {
  id: string;
  group: string;
  run: string;
}

interface ChangeLogEntry {
  /** The entry's number, zero-padded so that `_id` order is number order. */
  _id: string;
  /** When it was appended (its age decides when it is pruned). */
  at: Date;
  /** History `_id`s, in the order they were written. */
  events: string[];
  /** The groups of those events (a feed limited to some groups skips entries that name none of them). */
  groups: string[];
  /** The writers of those events (their history entries' `run`). */
  runs: string[];
}

const logSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    events: { type: [String], required: true },
    groups: { type: [String], required: true },
    runs: { type: [String], required: true },
  },
  { versionKey: false, collection: 'membership_change_log' },
);
const ChangeLogModel = mongoose.model('MembershipChangeLog', logSchema);
declareIndex(ChangeLogModel as unknown as mongoose.Model<never>, { runs: 1 });

/** The highest number known taken (a hint: it may lag, never lead) and the lowest kept (entries below were pruned). */
interface LogHeadDoc {
  _id: 'log-head';
  seq: number;
  floor: number;
}
const headSchema = new Schema({ _id: String, seq: Number, floor: Number }, { versionKey: false, collection: 'membership_change_log_head' });
const LogHeadModel = mongoose.model('MembershipChangeLogHead', headSchema);

export const changeLog = (): Collection<ChangeLogEntry> => ChangeLogModel.collection as unknown as Collection<ChangeLogEntry>;
const logHead = (): Collection<LogHeadDoc> => LogHeadModel.collection as unknown as Collection<LogHeadDoc>;

export const logId = (seq: number): string => String(seq).padStart(12, '0');
export const logSeq = (id: string): number => Number(id);

/** Events past which waiting writes start another entry (a 50,000-change sync is ten entries). */
export const MAX_EVENTS_PER_ENTRY = 5000;

// One append at a time per process, the writes that arrive meanwhile sharing the next entry (a group commit): each
// append is a few round trips, and writers racing each other for the same numbers would only add duplicates.
interface PendingEntry {
  events: LoggedEvent[];
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}
const waiting: PendingEntry[] = [];
let appending = false;
/** Per database: the highest number this process has taken or seen. */
const known = new Map<string, number>();
const dbKey = () => mongoose.connection.name;

/** Puts events in the log; resolves once an entry names them. */
export async function appendToLog(events: readonly LoggedEvent[]): Promise<void> {
  // A sync's write can hold hundreds of thousands of changes: entries of at most MAX_EVENTS_PER_ENTRY, in order
  // (one entry of them all would outgrow a document, and readers read an entry whole).
  const parts: Array<Promise<void>> = [];
  for (let start = 0; start < events.length; start += MAX_EVENTS_PER_ENTRY) {
    const part = events.slice(start, start + MAX_EVENTS_PER_ENTRY);
    parts.push(
      new Promise<void>((resolve, reject) => {
        let entry = waiting.at(-1);
        if (!entry || entry.events.length + part.length > MAX_EVENTS_PER_ENTRY) {
          entry = { events: [], waiters: [] };
          waiting.push(entry);
        }
        entry.events.push(...part);
        entry.waiters.push({ resolve, reject });
      }),
    );
  }
  void appendWaiting();
  await Promise.all(parts);
}

/**
 * Puts in the log those of `events` that no entry names yet: events whose history insert was a duplicate (a re-run
 * of their writer, or another writer that recorded the same change), whose writer may have died before logging them.
 * Two writers logging one event at the very same moment may both log it: readers take an event id seen twice as one.
 */
export async function appendUnlessLogged(events: readonly LoggedEvent[]): Promise<void> {
  if (events.length === 0) return;
  const logged = new Set<string>();
  for (const run of new Set(events.map((e) => e.run))) {
    for await (const entry of changeLog().find({ runs: run }, { projection: { events: 1 } })) for (const id of entry.events) logged.add(id);
  }
  await appendToLog(events.filter((e) => !logged.has(e.id)));
}

async function appendWaiting(): Promise<void> {
  if (appending) return;
  appending = true;
  try {
    for (let entry = waiting.shift(); entry; entry = waiting.shift()) {
      try {
        await append(entry.events);
        for (const w of entry.waiters) w.resolve();
      } catch (err) {
        for (const w of entry.waiters) w.reject(err);
      }
    }
  } finally {
    appending = false;
  }
}

async function append(events: readonly LoggedEvent[]): Promise<number> {
  const head = await logHead().findOne({ _id: 'log-head' });
  const body = {
    at: new Date(),
    events: events.map((e) => e.id),
    groups: [...new Set(events.map((e) => e.group))],
    runs: [...new Set(events.map((e) => e.run))],
  };
  const seq = await insertNumbered(changeLog(), logId, body, Math.max(known.get(dbKey()) ?? 0, head?.seq ?? 0, (head?.floor ?? 1) - 1));
  known.set(dbKey(), seq);
  await raiseHead(logHead(), 'log-head', seq);
  return seq;
}

const WINDOW = 16;

/**
 * Up to `max` entries after number `seq`, in order. Reads WINDOW numbers at a time by `_id` and stops at the first
 * number not taken: a number taken after that read is read next time.
 */
export async function readLogAfter(seq: number, max = 64): Promise<ChangeLogEntry[]> {
  const entries: ChangeLogEntry[] = [];
  let next = seq + 1;
  while (entries.length < max) {
    // No more than asked for: an entry can name thousands of events.
    const docs = await Promise.all(Array.from({ length: Math.min(WINDOW, max - entries.length) }, (_, i) => changeLog().findOne({ _id: logId(next + i) })));
    let taken = 0;
    while (taken < docs.length && docs[taken]) entries.push(docs[taken++]!);
    next += taken;
    if (taken < docs.length) break;
  }
  return entries;
}

/** The number of the newest entry (0 for an empty log) and the lowest kept (1 when nothing was pruned). */
export async function logBounds(): Promise<{ head: number; floor: number }> {
  const hint = await logHead().findOne({ _id: 'log-head' });
  const floor = hint?.floor ?? 1;
  let head = Math.max(hint?.seq ?? 0, known.get(dbKey()) ?? 0, floor - 1);
  for (;;) {
    const after = await readLogAfter(head, 256);
    if (after.length === 0) break;
    head = logSeq(after[after.length - 1]!._id);
  }
  known.set(dbKey(), Math.max(known.get(dbKey()) ?? 0, head));
  return { head, floor };
}

/** The lowest number kept (1 when nothing was pruned): a reader behind it has lost what was pruned. */
export async function logFloor(): Promise<number> {
  return (await logHead().findOne({ _id: 'log-head' }))?.floor ?? 1;
}

/** How long entries are kept: a feed cursor stays valid for at least 7 days; one more for the clocks of processes. */
export const LOG_RETENTION_MS = 8 * 24 * 3600_000;

/**
 * Deletes the entries appended before `now - LOG_RETENTION_MS`, oldest first, always keeping the newest (numbering
 * goes on from it). The floor is raised before the delete, so that a reader never mistakes a pruned number for one
 * not yet taken. Any process may run it; two at once delete the same entries.
 */
export async function pruneLog(now = new Date()): Promise<number> {
  const { head, floor } = await logBounds();
  const cutoff = now.getTime() - LOG_RETENTION_MS;
  let upTo = floor - 1;
  while (upTo + 1 < head) {
    const next = await changeLog().findOne({ _id: logId(upTo + 1) }, { projection: { at: 1 } });
    if (next && next.at.getTime() >= cutoff) break;
    upTo++;
  }
  if (upTo < floor) return 0;
  await logHead().updateOne({ _id: 'log-head' }, { $max: { floor: upTo + 1, seq: head } }, { upsert: true });
  const ids = Array.from({ length: upTo - floor + 1 }, (_, i) => logId(floor + i));
  return db().deleteByIds(changeLog(), ids);
}

/** Forgets what this process knew of a database's log (its database was dropped). */
export function forgetLog(): void {
  known.clear();
}
