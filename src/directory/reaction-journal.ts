// The journal of directory changes whose reactions (membership, the change feed) are not known to be complete:
// its entries, stored and read here; directory-events.ts opens one for each announced write and replays them.
//
// Every announced write enters the journal before its listeners run and leaves it when all of them succeeded, so a
// reaction that throws, or a process that dies while reacting, leaves a trace instead of stale membership until
// the nightly sync. A replay job (enqueued at once on a failure, and swept every five minutes) publishes the journaled
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
    await journal().insertOne(entry);
    return { entry };
  } catch (err) {
    return { entry, journalError: asError(err) };
  }
}

/** Every listener succeeded: the entry leaves the journal (if that fails, it is replayed after the grace period). */
export async function closeEntry(entry: JournalEntryDoc): Promise<void> {
  await journal().deleteOne({ _id: entry._id }).catch(() => undefined);
}

/** A listener failed: the entry records when to replay it, and the failure hook hears of it. */
export async function failEntry(entry: JournalEntryDoc, error: Error): Promise<void> {
  await recordFailure(entry, error);
}

async function recordFailure(entry: JournalEntryDoc, error: Error): Promise<void> {
  const attempts = entry.attempts + 1;
  const failedAt = new Date();
  // The first retry is due at once (the hook enqueues it); later ones back off.
  const nextAttemptAt = new Date(failedAt.getTime() + (attempts > 1 ? backoffMs(attempts) : 0));
  try {
    await journal().updateOne({ _id: entry._id }, { $set: { attempts, failedAt, lastError: error.message, nextAttemptAt } });
  } catch {
    // The unmarked entry is still there and is replayed after the grace period.
  }
  try {
    await onFailure({ id: entry._id, attempts, users: entry.users, error });
  } catch {
    // The sweep replays the entry when the immediate job cannot be enqueued.
  }
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

/** A replay failed again: the entry backs off. */
export async function replayFailed(entry: JournalEntryDoc, error: Error): Promise<void> {
  const attempts = entry.attempts + 1;
  const failedAt = new Date();
  await journal().updateOne(
    { _id: entry._id },
    { $set: { attempts, failedAt, lastError: error.message, nextAttemptAt: new Date(failedAt.getTime() + backoffMs(attempts)) } },
  );
}

