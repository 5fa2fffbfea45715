// The journal of directory changes whose reactions (membership, the change feed) are not known to be complete:
// its entries, stored and read here; directory-events.ts opens one for each announced write and replays them.
//
// Every announced write enters the journal before its listeners run (a write that can stop half-way, before it
// writes: writeAhead) and leaves it when all of them succeeded, so a reaction that throws, a write cut off half-way,
// or a process that dies while reacting, leaves a trace instead of stale membership until the nightly sync. A replay job (enqueued at once on a failure, and swept every five minutes) publishes the journaled
// changes again through the same listeners and removes the entry when they succeed; listeners are idempotent
// (memberships and history have deterministic ids), so a replay that overlaps another, or the original, writes
// each real change once.
//
// Entries are inserted with a unique random `_id` and removed by `_id`: no update ever races another writer's
// (the embedded database has no transactions nor atomic updates). The collection holds only writes in flight and failures, so
// reading it whole is cheap; nothing reads it by any other filter.
import { randomUUID } from 'node:crypto';
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import type { DirectoryChange } from './directory-change.js';

export interface JournalEntryDoc {
  _id: string;
  /** When the write was announced. */
  at: Date;
  changes: DirectoryChange[];
  /** Summary of `changes`, so that readers of the backlog need not load them. */
  users: number;
  /** Every path the changes name; `whole` when a user was created or deleted (every group may be affected). */
  paths: string[];
  whole: boolean;
  /** Reactions tried and failed so far (the write's own counts as the first). */
  attempts: number;
  failedAt?: Date;
  lastError?: string;
  /** A replay is due from then on. */
  nextAttemptAt?: Date;
}

const journalSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    changes: { type: [Schema.Types.Mixed], default: [] },
    users: { type: Number, required: true },
    paths: { type: [String], default: [] },
    whole: { type: Boolean, required: true },
    attempts: { type: Number, required: true },
    failedAt: { type: Date },
    lastError: { type: String },
    nextAttemptAt: { type: Date },
  },
  { versionKey: false, collection: 'directory_reactions' },
);
export const JournalEntryModel = mongoose.model('DirectoryReaction', journalSchema);
const journal = (): Collection<JournalEntryDoc> => JournalEntryModel.collection as unknown as Collection<JournalEntryDoc>;

/**
 * This process's entries whose write is still being made or reacted to (opened, not yet closed or failed). A write
 * nested in such a reaction (a join's enrolment writes the same users again) must not take its own outer entry
 * for a failed one.
 */
const reacting = new Set<string>();

/** Runs a replay of an entry as one of those (see `reacting`). */
export async function whileReacting<T>(entryId: string, work: () => Promise<T>): Promise<T> {
  const outer = reacting.has(entryId);
  reacting.add(entryId);
  try {
    return await work();
  } finally {
    if (!outer) reacting.delete(entryId);
  }
}

/**
 * An entry nobody marked failed is a write still reacting, or one whose process died while reacting: after this
 * long it is replayed as well (a replay of a write still in flight only repeats idempotent work).
 */
export const UNCONFIRMED_GRACE_MS = 10 * 60_000;
/** Replays back off: 1, 2, 4 … minutes after each failed replay (then the next sweep), at most an hour apart. */
const BACKOFF_BASE_MS = 60_000;
const BACKOFF_MAX_MS = 60 * 60_000;

export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 2));
}

/** What reacts to a failure: enqueue the replay job, count it. Installed by the reactions' wiring. */
export type ReactionFailureHook = (entry: { id: string; attempts: number; users: number; error: Error }) => Promise<void>;
let onFailure: ReactionFailureHook = async () => undefined;

export function setReactionFailureHook(fn: ReactionFailureHook): ReactionFailureHook {
  const previous = onFailure;
  onFailure = fn;
  return previous;
}

export const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

function entryOf(changes: readonly DirectoryChange[], at: Date): JournalEntryDoc {
  const paths = new Set<string>();
  let whole = false;
  const users = new Set<string>();
  for (const c of changes) {
    users.add(c.externalId);
    if (c.kind !== 'user.changed') whole = true;
    for (const p of c.changed) paths.add(p);
  }
  return {
    _id: `${at.getTime()}:${randomUUID()}`,
    at,
    changes: changes.map(({ kind, externalId, changed, actor }) => ({ kind, externalId, changed, actor })),
    users: users.size,
    paths: [...paths].sort(),
    whole,
    attempts: 0,
  };
}

/** Enters a write's changes in the journal before its listeners run; returns the entry (not yet stored on failure). */
export async function openEntry(changes: readonly DirectoryChange[]): Promise<{ entry: JournalEntryDoc; journalError?: Error }> {
  const entry = entryOf(changes, new Date());
  try {
    reacting.add(entry._id);
    await journal().insertOne(entry);
    return { entry };
  } catch (err) {
    return { entry, journalError: asError(err) };
  }
}

/** A journal entry written before the write it describes (write-ahead); see journalAhead. */
export interface JournaledIntent {
  readonly entry: JournalEntryDoc;
}

/**
 * Journals the changes a write is about to make, before it makes them. A write that then stops half-way (the
 * database went away, the process died) leaves this entry: the part it stored is reacted to by the replay, even
 * though a retry of the same request finds those records unchanged and announces nothing for them. Throws when
 * the journal cannot be written: the write must not start then. The entry may name more than the write stores
 * (a record refused on a clash); reacting to an unchanged user changes nothing.
 */
export async function journalAhead(changes: readonly DirectoryChange[]): Promise<JournaledIntent | undefined> {
  if (changes.length === 0) return undefined;
  const entry = entryOf(changes, new Date());
  reacting.add(entry._id);
  try {
    await journal().insertOne(entry);
  } catch (err) {
    reacting.delete(entry._id);
    throw err;
  }
  return { entry };
}

/**
 * The write that journalAhead announced failed: its entry is marked failed and its replay enqueued, now or, while
 * the database is away, as soon as it is back.
 */
export function abandonIntent(intent: JournaledIntent | undefined, error: unknown): void {
  if (intent) void recordFailure(intent.entry, asError(error));
}

/**
 * Journals `changes` (journalAhead), then runs the write that makes them. A write that throws leaves its entry to
 * the replay (abandonIntent), except when `nothingStored` says the error means the write stored nothing (a refused
 * duplicate key): the entry is then dropped. Hand the intent to announce() once the write succeeded.
 */
export async function writeAhead<T>(
  changes: readonly DirectoryChange[],
  write: () => Promise<T>,
  nothingStored: (err: unknown) => boolean = () => false,
): Promise<{ result: T; intent: JournaledIntent | undefined }> {
  const intent = await journalAhead(changes);
  try {
    return { result: await write(), intent };
  } catch (err) {
    if (intent && nothingStored(err)) await closeEntry(intent.entry);
    else abandonIntent(intent, err);
    throw err;
  }
}

/** Every listener succeeded: the entry leaves the journal (if that fails, it is replayed after the grace period). */
export async function closeEntry(entry: JournalEntryDoc): Promise<void> {
  reacting.delete(entry._id);
  await journal().deleteOne({ _id: entry._id }).catch(() => undefined);
}

/** A listener failed: the entry records when to replay it, and the failure hook hears of it. */
export async function failEntry(entry: JournalEntryDoc, error: Error): Promise<void> {
  await recordFailure(entry, error);
}

/**
 * While the database is away, marking a failure and enqueueing its replay fail too: they are tried again, 1 s
 * apart doubling to 30 s, for as long as the grace period after which the sweep replays an unmarked entry anyway.
 * Without this, a reaction cut off by a database restart waited for that grace period (10 minutes).
 */
const MARK_RETRY_FIRST_MS = 1000;
const MARK_RETRY_MAX_MS = 30_000;

async function recordFailure(entry: JournalEntryDoc, error: Error): Promise<void> {
  reacting.delete(entry._id);
  const attempts = entry.attempts + 1;
  const failedAt = new Date();
  // The first retry is due at once (the hook enqueues it); later ones back off.
  const nextAttemptAt = new Date(failedAt.getTime() + (attempts > 1 ? backoffMs(attempts) : 0));
  const mark = async () => {
    await journal().updateOne({ _id: entry._id }, { $set: { attempts, failedAt, lastError: error.message, nextAttemptAt } });
    // Enqueueing is idempotent (the job id names the entry and the attempt), so a retry after a failed enqueue
    // cannot start two replays.
    await onFailure({ id: entry._id, attempts, users: entry.users, error });
  };
  try {
    await mark();
  } catch {
    markLater(mark, failedAt.getTime() + UNCONFIRMED_GRACE_MS, MARK_RETRY_FIRST_MS);
  }
}

function markLater(mark: () => Promise<void>, until: number, delayMs: number): void {
  if (Date.now() + delayMs > until) return; // the sweep replays the unmarked entry after the grace period
  setTimeout(() => {
    mark().catch(() => markLater(mark, until, Math.min(MARK_RETRY_MAX_MS, delayMs * 2)));
  }, delayMs).unref();
}

export interface BacklogEntry {
  id: string;
  at: Date;
  users: number;
  paths: string[];
  whole: boolean;
  attempts: number;
  lastError?: string;
  failedAt?: Date;
}

/**
 * The entries that show a reaction owed: failed ones, and unconfirmed ones past the grace period. A write still
 * reacting is not shown (it is not late yet).
 */
export async function readBacklog(now = new Date()): Promise<BacklogEntry[]> {
  const out: BacklogEntry[] = [];
  const cursor = journal().find({}, { projection: { changes: 0 } });
  for await (const e of cursor) {
    if (!e.failedAt && e.at.getTime() > now.getTime() - UNCONFIRMED_GRACE_MS) continue;
    out.push({
      id: e._id,
      at: e.at,
      users: e.users,
      paths: e.paths ?? [],
      whole: e.whole,
      attempts: e.attempts,
      ...(e.lastError ? { lastError: e.lastError } : {}),
      ...(e.failedAt ? { failedAt: e.failedAt } : {}),
    });
  }
  return out;
}

export interface ReplayResult {
  /** Entries replayed and removed. */
  replayed: number;
  /** Entries whose replay failed again (left for a later attempt). */
  failed: number;
  /** Users the replayed entries named. */
  users: number;
  errors: string[];
}

export interface ReplayOptions {
  /** Replay this entry now, due or not (the job enqueued by its failure). */
  only?: string;
  now?: Date;
  progress?: (done: number, total: number) => Promise<void>;
}

/** The entries due for a replay (or the one named), oldest first. */
export async function dueEntries(opts: ReplayOptions = {}): Promise<JournalEntryDoc[]> {
  const now = opts.now ?? new Date();
  const due: JournalEntryDoc[] = [];
  if (opts.only) {
    const one = await journal().findOne({ _id: opts.only });
    if (one) due.push(one);
  } else {
    for await (const e of journal().find({})) {
      const dueAt = e.nextAttemptAt ?? (e.failedAt ? e.failedAt : new Date(e.at.getTime() + UNCONFIRMED_GRACE_MS));
      if (dueAt.getTime() <= now.getTime()) due.push(e);
    }
  }
  return due.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * Entries that name any of these users and that no write of this process is still making or reacting to, oldest
 * first (the journal holds only writes in flight and failures).
 */
export async function entriesNaming(users: ReadonlySet<string>): Promise<JournalEntryDoc[]> {
  const out: JournalEntryDoc[] = [];
  for await (const e of journal().find({})) if (!reacting.has(e._id) && e.changes.some((c) => users.has(c.externalId))) out.push(e);
  return out.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** A replay failed again: the entry backs off. */
export async function replayFailed(entry: JournalEntryDoc, error: Error): Promise<void> {
  const attempts = entry.attempts + 1;
  const failedAt = new Date();
  await journal().updateOne(
    { _id: entry._id },
    { $set: { attempts, failedAt, lastError: error.message, nextAttemptAt: new Date(failedAt.getTime() + backoffMs(attempts)) } },
  );
}

