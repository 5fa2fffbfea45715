// The directory's outbox. Every change of a user is an event with the `_id` `<externalId>:<version>`: the user's
// next version, claimed by inserting the event before the user is written. An insert of a chosen `_id` has exactly
// one winner on every backend (FerretDB's conditional updates do not: ../shared/FERRETDB.md), so two writers of one
// user can never both write version n; the user document then moves from version n-1 to n by a write conditional
// on n-1 (atomic on MongoDB; on FerretDB the user's lease, held around the whole write, is what excludes others).
//
// One request is one *write* (a users batch of mostly new users two: those it inserted without reading, then the
// rest; user-batch.service.ts): its events share the write's id and instant. The write is *open* (a document in
// `user_event_writes`, naming its users) from before its events are claimed until membership has applied them.
// Membership is an idempotent consumer (src/reactions.ts): it evaluates each user as stored, at their latest
// version, under the user's lease, writing with the write's run key and instant, so a write applied twice (a replay,
// a retry, a second process) stores the same memberships and history as once. A write that stopped half-way (the
// database went away, the process died) stays open: what it stored is reacted to by the next writer of those users
// (settleOwed) or the replay job, and the events whose user write never happened are discarded.
//
// Events stay after their write closes, for USER_EVENT_RETENTION_MS: they are each user's recent change log (what
// changed, by whom, at which version). Readers of what is owed look only at open writes, a small collection.
import { randomUUID } from 'node:crypto';
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { db } from '../platform/db/index.js';
import type { DirectoryChange, DirectoryChangeKind } from './directory-change.js';
import type { UserDoc } from './user.model.js';

export interface UserEventDoc {
  /** `<externalId>:<version>`. */
  _id: string;
  user: string;
  version: number;
  /** The write (one request) this event belongs to. */
  write: string;
  /** The write's instant. */
  at: Date;
  kind: DirectoryChangeKind;
  /** The changed paths ('email', 'fields.department', 'enrollments.DRV-101'); empty for created and deleted. */
  changed: string[];
  actor: string;
  /**
   * Claimed before the writer knew whether the user exists (a users batch inserts new users first: see
   * user-batch.service.ts). Such a claim can stand beside a stored user whose older events are gone, so it landed
   * only if the stored user was created by this write (its createdAt is the write's instant), not by version alone.
   */
  presumed?: true;
}

/** A write whose reaction is not known to be applied. */
export interface OpenWriteDoc {
  _id: string;
  at: Date;
  actor: string;
  /** The users whose events this write claimed, and how many. */
  userIds: string[];
  users: number;
  /** Every path the events name; `whole` when a user was created or deleted (every group may be affected). */
  paths: string[];
  whole: boolean;
  /** Reactions tried and failed so far (the write's own counts as the first). */
  attempts: number;
  failedAt?: Date;
  lastError?: string;
  /** A replay is due from then on. */
  nextAttemptAt?: Date;
}

const eventSchema = new Schema(
  {
    _id: { type: String, required: true },
    user: { type: String, required: true, index: true },
    version: { type: Number, required: true },
    write: { type: String, required: true, index: true },
    at: { type: Date, required: true },
    kind: { type: String, required: true },
    changed: { type: [String], default: [] },
    actor: { type: String, required: true },
    presumed: { type: Boolean },
  },
  { versionKey: false, collection: 'user_events' },
);
const UserEventModel = mongoose.model('UserEvent', eventSchema);

const openWriteSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    userIds: { type: [String], default: [] },
    users: { type: Number, required: true },
    paths: { type: [String], default: [] },
    whole: { type: Boolean, required: true },
    attempts: { type: Number, required: true },
    failedAt: { type: Date },
    lastError: { type: String },
    nextAttemptAt: { type: Date },
  },
  { versionKey: false, collection: 'user_event_writes' },
);
const OpenWriteModel = mongoose.model('UserEventWrite', openWriteSchema);

const userEvents = (): Collection<UserEventDoc> => UserEventModel.collection as unknown as Collection<UserEventDoc>;
const openWrites = (): Collection<OpenWriteDoc> => OpenWriteModel.collection as unknown as Collection<OpenWriteDoc>;

const userEventId = (user: string, version: number): string => `${user}:${version}`;

/** How long events stay after their write closed: a day of each user's changes. */
const USER_EVENT_RETENTION_MS = 24 * 60 * 60_000;

/** One directory write (one request): its id and instant, shared by its events. */
interface DirectoryWrite {
  id: string;
  at: Date;
  actor: string;
}

export function newWrite(actor: string, at = new Date()): DirectoryWrite {
  return { id: `${at.getTime()}:${randomUUID()}`, at, actor };
}

/** A change a write is about to make: the user, what changes, and the version the writer read (0: none stored). */
export interface PlannedChange {
  user: string;
  kind: DirectoryChangeKind;
  changed: string[];
  /** The stored version the write is conditional on; 0 for a user not stored (or stored before versions). */
  from: number;
  /**
   * A user created without reading whether they exist (UserEventDoc.presumed): version 1 is claimed, and if it is
   * taken the user is refused (the writer reads them and writes them as usual) instead of looking for a free version.
   */
  presumed?: true;
}

export const changeOf = (e: Pick<UserEventDoc, 'kind' | 'user' | 'changed' | 'actor'>): DirectoryChange => ({
  kind: e.kind,
  externalId: e.user,
  changed: e.changed,
  actor: e.actor,
});

/**
 * This process's writes still being made or reacted to. A write nested in such a reaction (a join's enrolment
 * writes the same users again, under the locks the outer write holds) must not take the outer write for one owed.
 */
const inFlight = new Set<string>();

function openDocOf(write: DirectoryWrite, planned: readonly PlannedChange[]): OpenWriteDoc {
  const paths = new Set<string>();
  let whole = false;
  for (const p of planned) {
    if (p.kind !== 'user.changed') whole = true;
    for (const path of p.changed) paths.add(path);
  }
  const userIds = [...new Set(planned.map((p) => p.user))];
  return {
    _id: write.id,
    at: write.at,
    actor: write.actor,
    userIds,
    users: userIds.length,
    paths: [...paths].sort(),
    whole,
    attempts: 0,
  };
}

/**
 * Opens the write and claims each planned user's next version. A version already taken is an event whose user
 * write never happened (its writer stopped before writing: the caller holds the user's lock and read the version
 * before it) and is discarded, then claimed again; a user created again after a delete continues after the last
 * version its events hold. Users whose version cannot be claimed (a writer outside the lease, e.g. one stalled past
 * it) are returned as refused: the caller writes nothing for them.
 */
export async function openWrite(write: DirectoryWrite, planned: readonly PlannedChange[]): Promise<{ events: Map<string, UserEventDoc>; refused: Set<string> }> {
  const events = new Map<string, UserEventDoc>();
  const refused = new Set<string>();
  if (planned.length === 0) return { events, refused };
  inFlight.add(write.id);
  try {
    await openWrites().insertOne(openDocOf(write, planned));
    const eventOf = (p: PlannedChange, version: number): UserEventDoc => ({
      _id: userEventId(p.user, version),
      user: p.user,
      version,
      write: write.id,
      at: write.at,
      kind: p.kind,
      changed: p.changed,
      actor: write.actor,
      ...(p.presumed ? { presumed: true as const } : {}),
    });
    const docs = planned.map((p) => eventOf(p, p.from + 1));
    const taken = await db().insertIgnoringDuplicates(userEvents(), docs);
    planned.forEach((p, i) => {
      if (!taken.has(i)) events.set(p.user, docs[i]!);
    });
    for (const i of taken) {
      const p = planned[i]!;
      if (p.presumed) {
        refused.add(p.user);
        continue;
      }
      const again = eventOf(p, await nextFreeVersion(p));
      if ((await db().insertIgnoringDuplicates(userEvents(), [again])).size === 0) events.set(p.user, again);
      else refused.add(p.user);
    }
  } catch (err) {
    inFlight.delete(write.id);
    throw err;
  }
  return { events, refused };
}

/**
 * The version to claim after `from + 1` was found taken (see openWrite). The caller holds the user's lock, so the
 * events after the last stored state are writes that never happened: those go. A stored user is at `from`; a user
 * not stored was last deleted by the newest delete event (or never created), and what follows it never landed.
 */
async function nextFreeVersion(p: PlannedChange): Promise<number> {
  let last = p.from;
  if (last === 0) {
    const held = await userEvents().find({ user: p.user }, { projection: { version: 1, kind: 1 } }).toArray();
    last = Math.max(0, ...held.filter((e) => e.kind === 'user.deleted').map((e) => e.version));
  }
  await userEvents().deleteMany({ user: p.user, version: { $gt: last } });
  return last + 1;
}

/** Events claimed for users the write then did not store (a refused record): they are no change, so they go. */
export async function discardEvents(events: readonly UserEventDoc[]): Promise<void> {
  if (events.length) await db().deleteByIds(userEvents(), events.map((e) => e._id));
}

/** The write's reaction is applied: it closes (if that fails, the sweep applies it again later: idempotent). */
export async function closeWrite(writeId: string): Promise<void> {
  inFlight.delete(writeId);
  await openWrites().deleteOne({ _id: writeId }).catch(() => undefined);
}

/** Runs work (a replay of an open write) as one of this process's writes in flight (see inFlight). */
export async function whileApplying<T>(writeId: string, work: () => Promise<T>): Promise<T> {
  const outer = inFlight.has(writeId);
  inFlight.add(writeId);
  try {
    return await work();
  } finally {
    if (!outer) inFlight.delete(writeId);
  }
}

/** What reacts to a failure: enqueue the replay job, count it. Installed by the reactions' wiring. */
type ReactionFailureHook = (write: { id: string; attempts: number; users: number; error: Error }) => Promise<void>;
let onFailure: ReactionFailureHook = async () => undefined;

export function setReactionFailureHook(fn: ReactionFailureHook): ReactionFailureHook {
  const previous = onFailure;
  onFailure = fn;
  return previous;
}

export const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * An open write nobody marked failed is one still reacting, or one whose process died: after this long it is
 * replayed as well (a replay of a write still in flight only repeats idempotent work).
 */
export const UNCONFIRMED_GRACE_MS = 10 * 60_000;
/** Replays back off: 1, 2, 4 … minutes after each failed replay (then the next sweep), at most an hour apart. */
const BACKOFF_BASE_MS = 60_000;
const BACKOFF_MAX_MS = 60 * 60_000;

function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 2));
}

/**
 * While the database is away, marking a failure and enqueueing its replay fail too: they are tried again, 1 s apart
 * doubling to 30 s, for as long as the grace period after which the sweep replays an unmarked write anyway.
 */
const MARK_RETRY_FIRST_MS = 1000;
const MARK_RETRY_MAX_MS = 30_000;

/**
 * The write's reaction failed, or the write itself stopped half-way: it stays open, is marked failed and its replay
 * enqueued, now or, while the database is away, as soon as it is back.
 */
export function writeFailed(write: Pick<OpenWriteDoc, '_id' | 'attempts' | 'userIds'>, error: unknown): Promise<void> {
  inFlight.delete(write._id);
  const failure = asError(error);
  const attempts = write.attempts + 1;
  const failedAt = new Date();
  // The first retry is due at once (the hook enqueues it); later ones back off.
  const nextAttemptAt = new Date(failedAt.getTime() + (attempts > 1 ? backoffMs(attempts) : 0));
  const mark = async () => {
    await openWrites().updateOne({ _id: write._id }, { $set: { attempts, failedAt, lastError: failure.message, nextAttemptAt } });
    // Enqueueing is idempotent (the job id names the write and the attempt): a retry cannot start two replays.
    await onFailure({ id: write._id, attempts, users: write.userIds.length, error: failure });
  };
  return mark().catch(() => markLater(mark, failedAt.getTime() + UNCONFIRMED_GRACE_MS, MARK_RETRY_FIRST_MS));
}

function markLater(mark: () => Promise<void>, until: number, delayMs: number): void {
  if (Date.now() + delayMs > until) return; // the sweep replays the unmarked write after the grace period
  setTimeout(() => {
    mark().catch(() => markLater(mark, until, Math.min(MARK_RETRY_MAX_MS, delayMs * 2)));
  }, delayMs).unref();
}

/** A replay failed again: the write backs off. */
export async function replayFailed(write: OpenWriteDoc, error: Error): Promise<void> {
  const attempts = write.attempts + 1;
  const failedAt = new Date();
  await openWrites().updateOne(
    { _id: write._id },
    { $set: { attempts, failedAt, lastError: error.message, nextAttemptAt: new Date(failedAt.getTime() + backoffMs(attempts)) } },
  );
}

/** The open writes due for a replay (or the one named), oldest first. */
export async function dueWrites(opts: { only?: string; now?: Date } = {}): Promise<OpenWriteDoc[]> {
  const now = opts.now ?? new Date();
  if (opts.only) {
    const one = await openWrites().findOne({ _id: opts.only });
    return one ? [one] : [];
  }
  const due: OpenWriteDoc[] = [];
  for await (const w of openWrites().find({})) {
    const dueAt = w.nextAttemptAt ?? w.failedAt ?? new Date(w.at.getTime() + UNCONFIRMED_GRACE_MS);
    if (dueAt.getTime() <= now.getTime()) due.push(w);
  }
  return due.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Open writes naming any of these users that no write of this process is still making or applying, oldest first. */
export async function openWritesNaming(users: ReadonlySet<string>): Promise<OpenWriteDoc[]> {
  const out: OpenWriteDoc[] = [];
  for await (const w of openWrites().find({})) if (!inFlight.has(w._id) && w.userIds.some((u) => users.has(u))) out.push(w);
  return out.sort((a, b) => a.at.getTime() - b.at.getTime());
}

export async function eventsOfWrite(writeId: string): Promise<UserEventDoc[]> {
  return userEvents().find({ write: writeId }).toArray();
}

/**
 * Whether the user write an event stands for happened, from the user as stored now (absent: deleted or never
 * created). Versions only grow, so a stored version at or past the event's means its write was stored; a presumed
 * creation landed only if the stored user was created at the write's instant (UserEventDoc.presumed).
 */
export function eventLanded(e: UserEventDoc, stored: Pick<UserDoc, 'version' | 'createdAt'> | undefined): boolean {
  if (e.kind === 'user.deleted') return !stored || (stored.version ?? 0) > e.version;
  if (e.presumed && stored?.createdAt?.getTime() !== e.at.getTime()) return false;
  return stored !== undefined && (stored.version ?? 0) >= e.version;
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
 * The writes that show a reaction owed: failed ones, and unconfirmed ones past the grace period. A write still
 * reacting is not shown (it is not late yet).
 */
export async function readBacklog(now = new Date()): Promise<BacklogEntry[]> {
  const out: BacklogEntry[] = [];
  for await (const w of openWrites().find({}, { projection: { userIds: 0 } })) {
    if (!w.failedAt && w.at.getTime() > now.getTime() - UNCONFIRMED_GRACE_MS) continue;
    out.push({
      id: w._id,
      at: w.at,
      users: w.users,
      paths: w.paths ?? [],
      whole: w.whole,
      attempts: w.attempts,
      ...(w.lastError ? { lastError: w.lastError } : {}),
      ...(w.failedAt ? { failedAt: w.failedAt } : {}),
    });
  }
  return out;
}

/** Events of closed writes older than the retention go (those of writes still open stay: they are owed). */
export async function pruneEvents(now = new Date()): Promise<number> {
  const open = (await openWrites().find({}, { projection: { _id: 1 } }).toArray()).map((w) => w._id);
  const result = await userEvents().deleteMany({ at: { $lt: new Date(now.getTime() - USER_EVENT_RETENTION_MS) }, write: { $nin: open } });
  return result.deletedCount;
}
