// The change feed: one entry per write that changed users or memberships, numbered 1, 2, 3… with no gaps, so that a
// reader knows where it stands. Each entry also carries its bucket (FEED_BUCKET consecutive numbers): a reader
// catches up with one indexed equality per bucket (a range or `$gt` on `_id` would read the whole collection every
// time on the embedded database), and finds the head, the first missing number, by `_id`.
//
// Numbers are taken by inserting the entry with the chosen `_id`: the insert is the one mutual exclusion that works
// on both backends (the embedded database's `$inc` and compare-and-set are not atomic). A writer tries the number after the
// highest it knows of and moves on at each duplicate, so an entry is written only after every lower number has
// been taken: the taken numbers are always 1..head, and the first number a reader finds missing is the head.
//
// An entry names what changed, not how: the reader reads the changed users and memberships again, so entries may
// be applied more than once and in any order. It is written after the change is stored; a process that dies in
// between leaves a change the feed never names, and the next snapshot built from the database (after every full
// sync) puts it right.
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { declareIndex, isDuplicateKeyError } from '../platform/db/index.js';
import { insertNumbered, raiseHead } from '../platform/db/numbered-log.js';
import { eachLimited } from '../platform/each-limited.js';

interface FeedChange {
  /** Users created, changed or deleted (externalIds). */
  users?: readonly string[];
  /** Memberships added or removed, as their ids `<groupId>:<externalId>`. */
  memberships?: readonly string[];
  /** Groups deleted with all their memberships. */
  deletedGroups?: readonly string[];
}

interface FeedEntry {
  /** The entry's number, zero-padded so that `_id` order is number order. */
  _id: string;
  /** bucketOf(number): a catch-up reads a bucket's entries with one query. Absent on entries written before. */
  bucket?: number;
  at: Date;
  users?: string[];
  memberships?: string[];
  deletedGroups?: string[];
}

/** The highest number known to be taken, kept beside the snapshot header (a hint: it may lag, never lead). */
/**
 * `feed-head`: the highest number known taken (a hint: it may lag, never lead). `feed-floor`: numbers at or below it
 * were pruned and are never written again (raised by pruneFeed before it deletes).
 */
interface FeedHeadDoc {
  _id: 'feed-head' | 'feed-floor';
  seq: number;
}

const feedSchema = new Schema(
  {
    _id: { type: String, required: true },
    bucket: { type: Number },
    at: { type: Date, required: true },
    users: { type: [String], default: undefined },
    memberships: { type: [String], default: undefined },
    deletedGroups: { type: [String], default: undefined },
  },
  { versionKey: false, collection: 'change_feed' },
);
const FeedModel = mongoose.model('ChangeFeedEntry', feedSchema);
declareIndex(FeedModel as unknown as mongoose.Model<never>, { bucket: 1 });

/**
 * A reader that will read the feed from `seq` on (a sync that looks, at its end, for what changed while it ran): the
 * entries after `seq` are not pruned until it lets go, or `until` has passed (a reader that died).
 */
interface FeedHoldDoc {
  _id: string;
  seq: number;
  until: Date;
}
const holdSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, required: true }, until: { type: Date, required: true } }, { versionKey: false, collection: 'change_feed_holds' });
const FeedHoldModel = mongoose.model('ChangeFeedHold', holdSchema);
const feedHolds = (): Collection<FeedHoldDoc> => FeedHoldModel.collection as unknown as Collection<FeedHoldDoc>;
/** How long a hold lasts if its reader never lets go: longer than any sync runs. */
const HOLD_MS = 24 * 60 * 60_000;

const headSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, required: true } }, { versionKey: false, collection: 'change_feed_head' });
const FeedHeadModel = mongoose.model('ChangeFeedHead', headSchema);

const feedEntries = (): Collection<FeedEntry> => FeedModel.collection as unknown as Collection<FeedEntry>;
const feedHead = (): Collection<FeedHeadDoc> => FeedHeadModel.collection as unknown as Collection<FeedHeadDoc>;

export const feedId = (seq: number): string => String(seq).padStart(12, '0');
export const feedSeq = (id: string): number => Number(id);

/**
 * The highest number known taken or pruned: the head hint, the floor (numbers at or below it have been pruned and are
 * never written again, see pruneFeed) and this process's last append. The two small documents in one read.
 */
async function highestKnown(): Promise<number> {
  const marks = await feedHead().find({ _id: { $in: ['feed-head', 'feed-floor'] } }).toArray();
  return Math.max(known.get(dbKey()) ?? 0, ...marks.map((m) => m.seq));
}

// One append at a time in this process: concurrent appends would only race each other for the same numbers. The
// writes that arrive while an append is in flight wait for the next one and share its entry (a group commit):
// appending takes four round trips, and one writer at a time each with its own entry made every membership change
// of the process queue behind all the others (under the load bench, a single user's PATCH waited 35 s here).
// Readers re-read what an entry names, so an entry naming many writes' changes means the same as one per write.

/** Ids (users, memberships and groups together) past which waiting writes start another entry. */
export const MAX_IDS_PER_ENTRY = 10_000;

interface PendingEntry {
  users: Set<string>;
  memberships: Set<string>;
  deletedGroups: Set<string>;
  ids: number;
  waiters: Array<{ resolve: (seq: number) => void; reject: (err: unknown) => void }>;
}

const waiting: PendingEntry[] = [];
let appending = false;
/** Per database: the highest number this process has seen taken. */
const known = new Map<string, number>();
const dbKey = () => mongoose.connection.name;

/**
 * Records what a write changed; resolves, once it is in the feed, with the number of the entry that names it
 * (0 when there was nothing to record).
 */
export function recordChanges(change: FeedChange): Promise<number> {
  const users = unique(change.users);
  const memberships = unique(change.memberships);
  const deletedGroups = unique(change.deletedGroups);
  const ids = users.length + memberships.length + deletedGroups.length;
  if (ids === 0) return Promise.resolve(0);
  return new Promise<number>((resolve, reject) => {
    let entry = waiting.at(-1);
    if (!entry || entry.ids + ids > MAX_IDS_PER_ENTRY) {
      entry = { users: new Set(), memberships: new Set(), deletedGroups: new Set(), ids: 0, waiters: [] };
      waiting.push(entry);
    }
    for (const u of users) entry.users.add(u);
    for (const m of memberships) entry.memberships.add(m);
    for (const g of deletedGroups) entry.deletedGroups.add(g);
    entry.ids += ids;
    entry.waiters.push({ resolve, reject });
    void appendWaiting();
  });
}

async function appendWaiting(): Promise<void> {
  if (appending) return;
  appending = true;
  try {
    for (let entry = waiting.shift(); entry; entry = waiting.shift()) {
      const body = {
        at: new Date(),
        ...(entry.users.size ? { users: [...entry.users] } : {}),
        ...(entry.memberships.size ? { memberships: [...entry.memberships] } : {}),
        ...(entry.deletedGroups.size ? { deletedGroups: [...entry.deletedGroups] } : {}),
      };
      try {
        const seq = await append(body);
        for (const w of entry.waiters) w.resolve(seq);
      } catch (err) {
        for (const w of entry.waiters) w.reject(err);
      }
    }
  } finally {
    appending = false;
  }
}

async function append(body: Omit<FeedEntry, '_id'>): Promise<number> {
  const seq = await insertNumbered(feedEntries(), feedId, (n) => ({ bucket: bucketOf(n), ...body }), await highestKnown());
  known.set(dbKey(), seq);
  await raiseHead(feedHead(), 'feed-head', seq);
  return seq;
}

/**
 * Entries per read bucket. A catch-up after N writes read N entries by `_id`, one query each (only an equality is
 * served from an index on the embedded database; a range on `_id` reads the whole collection): 192 queries after 100
 * writes, 13 s of query time at 100,000 users. Whole buckets are read with one indexed equality each; the part of
 * the first bucket after the reader's position is read by `_id`, so that no query decodes entries the reader holds
 * already (right after a full sync those are the sync's, of 10,000 ids each).
 */
export const FEED_BUCKET = 32;
const bucketOf = (seq: number): number => Math.floor(seq / FEED_BUCKET);
/** Feed reads in flight at once. */
const READS_IN_FLIGHT = 16;

/**
 * The entries after `seq`, in order, up to the head. The numbers up to the head hint are taken: they are read at once, READS_IN_FLIGHT queries at a time (by `_id` up
 * to the first bucket boundary, then by bucket). Past what those found, numbers are read by `_id` until the first
 * gap, which is the head (the hint lags when its raise lost a race or a write is under way; entries written before
 * entries had buckets are found this way too). `projection` limits what is read of each entry.
 */
export async function readChangesAfter(seq: number, projection?: Record<string, 1>): Promise<FeedEntry[]> {
  const options = projection ? { projection } : {};
  const found = new Map<number, FeedEntry>();
  const keep = (doc: FeedEntry | null) => {
    if (doc) found.set(feedSeq(doc._id), doc);
  };
  const hint = (await feedHead().findOne({ _id: 'feed-head' }))?.seq ?? 0;
  const reads: Array<() => Promise<void>> = [];
  const firstWhole = Math.ceil((seq + 1) / FEED_BUCKET);
  for (let n = seq + 1; n <= Math.min(hint, firstWhole * FEED_BUCKET - 1); n++) {
    reads.push(async () => keep(await feedEntries().findOne({ _id: feedId(n) }, options)));
  }
  for (let bucket = firstWhole; bucket <= bucketOf(hint); bucket++) {
    reads.push(async () => (await feedEntries().find({ bucket }, options).toArray()).forEach(keep));
  }
  await eachLimited(reads, READS_IN_FLIGHT, (read) => read());

  const entries: FeedEntry[] = [];
  let next = seq + 1;
  for (let window = 1; ; window = READS_IN_FLIGHT) {
    for (let doc = found.get(next); doc; doc = found.get(next)) {
      entries.push(doc);
      next++;
    }
    // Stop at the first gap: a number found after it was taken after this read of the gap, and is read next time.
    const docs = await Promise.all(Array.from({ length: window }, (_, i) => feedEntries().findOne({ _id: feedId(next + i) }, options)));
    let taken = 0;
    while (taken < docs.length && docs[taken]) entries.push(docs[taken++]!);
    next += taken;
    if (taken < docs.length) return entries;
  }
}

/** The number of the newest entry (0 for an empty feed). */
export async function feedHeadSeq(): Promise<number> {
  const from = await highestKnown();
  const after = await readChangesAfter(from, { _id: 1 });
  return after.length ? feedSeq(after[after.length - 1]!._id) : from;
}

/**
 * Where the feed stands now, kept for `holder` (one per sync run or job): entries after it are not pruned until
 * releaseFeed. A holder that holds already (a job run again) keeps the earlier position.
 */
export async function holdFeed(holder: string): Promise<number> {
  const seq = await feedHeadSeq();
  const held = await feedHolds().findOne({ _id: holder });
  if (held) return held.seq;
  try {
    await feedHolds().insertOne({ _id: holder, seq, until: new Date(Date.now() + HOLD_MS) });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    return (await feedHolds().findOne({ _id: holder }))?.seq ?? seq;
  }
  return seq;
}

export async function releaseFeed(holder: string): Promise<void> {
  await feedHolds().deleteOne({ _id: holder });
}

/**
 * Deletes the entries numbered `upTo` and below (a snapshot holds their effect), but none a live hold still needs,
 * after raising the floor to what it deletes.
 */
export async function pruneFeed(upTo: number): Promise<void> {
  const now = new Date();
  const holds = await feedHolds().find({}).toArray();
  const expired = holds.filter((h) => h.until <= now).map((h) => h._id);
  if (expired.length) await feedHolds().deleteMany({ _id: { $in: expired } });
  const limit = Math.min(upTo, ...holds.filter((h) => h.until > now).map((h) => h.seq));
  if (limit <= 0) return;
  // The floor first: a writer that knows nothing (a new process, a lost head hint) must never take a pruned number.
  await feedHead().updateOne({ _id: 'feed-floor' }, { $max: { seq: limit } }, { upsert: true });
  await feedEntries().deleteMany({ _id: { $lte: feedId(limit) } });
}

/** Forgets what this process knew of a database's feed (its database was dropped). */
export function forgetFeed(): void {
  known.clear();
}

function unique(list: readonly string[] | undefined): string[] {
  return list ? [...new Set(list)] : [];
}
