// How a directory write is made, and what follows it, for every writer of users (one user, batches, enrolments,
// field removals). The steps, under the users' locks the caller holds:
//
// 1. open the write and claim each user's next version in the outbox (user-events.ts): insert wins;
// 2. write the users, each conditional on the version read;
// 3. membership follows: reactToDirectoryWrite (src/reactions.ts) applies the stored users before the request
//    answers; then the write closes.
//
// A reaction that fails does not fail the request: the users are stored and cannot be un-stored. The write stays
// open, the failure is logged and counted, the groups it may affect show it in their `sync` object (`pendingUsers`,
// `lastError`), and the replay job (or the next writer of those users: settleOwed) applies it. Answering 5xx would
// tell a client to retry a write that succeeded: the retry finds nothing to change and would not help.
import type { Logger } from '../platform/logger.js';
import { ConflictError } from '../platform/errors.js';
import { isDatabaseUnavailable } from '../platform/db-unavailable.js';
import { db, withLocks } from '../platform/db/index.js';
import { reactToDirectoryWrite } from '../reactions.js';
import { userLock } from './lock-keys.js';
import { atVersion, readUsersByIds, usersCollection } from './user-store.js';
import type { UserDoc } from './user.model.js';
import {
  asError,
  changeOf,
  closeWrite,
  discardEvents,
  dueWrites,
  eventLanded,
  eventsOfWrite,
  newWrite,
  openWrite,
  openWritesNaming,
  replayFailed,
  whileApplying,
  writeFailed,
  type OpenWriteDoc,
  type PlannedChange,
  type UserEventDoc,
} from './user-events.js';

/** Who writes and where to log: what every directory write needs besides its input. */
export interface WriteContext {
  actor: string;
  logger: Logger;
  /**
   * More writes of the same request follow (the next slices of a batch): when membership cannot follow this one
   * because the database is unreachable, the error is thrown once the write is recorded as owed, so the request
   * answers 503 at once instead of waiting for the next write to find the database gone. A write that ends its
   * request answers as stored, its membership owed.
   */
  moreFollow?: boolean;
}

/** The 409 for a user another writer (outside this one's lease) wrote meanwhile. */
export const userRaced = (externalId: string): ConflictError =>
  new ConflictError(`User ${externalId} was written by another request at the same moment; retry.`);

/** What a write stored: the users it wrote (those not stored keep their version; their events are discarded). */
export interface Applied<T> {
  result: T;
  stored: Iterable<string>;
  /** The stored users, whole, that the writer knows (a batch): the reaction reads only the others. */
  docs?: ReadonlyMap<string, UserDoc>;
}

interface WriteOptions {
  /** The error means the write stored nothing (a refused duplicate key): its events are discarded at once. */
  nothingStored?: (err: unknown) => boolean;
}

/**
 * Makes one directory write (steps 1-3 above). `apply` writes the users, conditional on the versions claimed for
 * them (`events`: user → the event naming their new version); users the outbox refused are left out of `events`
 * and must not be written. Returns what `apply` returned, and the refused users.
 */
export async function writeUsers<T>(
  ctx: WriteContext,
  planned: readonly PlannedChange[],
  apply: (events: ReadonlyMap<string, UserEventDoc>) => Promise<Applied<T>>,
  opts: WriteOptions = {},
): Promise<{ result: T; refused: ReadonlySet<string> }> {
  const write = newWrite(ctx.actor);
  const { events, refused } = await openWrite(write, planned);
  const open = { _id: write.id, attempts: 0, userIds: [...events.keys()] };
  let applied: Applied<T>;
  try {
    applied = await apply(events);
  } catch (err) {
    if (opts.nothingStored?.(err)) {
      await discardEvents([...events.values()]);
      await closeWrite(write.id);
    } else {
      // Stopped half-way: the replay finds which users were stored (their versions) and applies those.
      void writeFailed(open, err);
    }
    throw err;
  }
  const stored = new Set(applied.stored);
  await discardEvents([...events.values()].filter((e) => !stored.has(e.user)));
  const changes = [...events.values()].filter((e) => stored.has(e.user)).map(changeOf);
  if (changes.length === 0) {
    await closeWrite(write.id);
    return { result: applied.result, refused };
  }
  try {
    await reactToDirectoryWrite(changes, { id: write.id, at: write.at, ...(applied.docs ? { stored: applied.docs } : {}) });
  } catch (err) {
    const error = asError(err);
    ctx.logger.error(
      { err: error, changes: changes.length, first: changes[0]?.externalId },
      'membership could not follow a directory write; the write is stored and stays open, and a job applies it',
    );
    await writeFailed(open, error);
    if (ctx.moreFollow && isDatabaseUnavailable(error)) throw error;
    return { result: applied.result, refused };
  }
  await closeWrite(write.id);
  return { result: applied.result, refused };
}

/** A change of some paths of one stored user (an enrolment, a field's value), conditional on the version read. */
export interface PathsUpdate {
  from: number;
  /** The changed paths, as the event names them. */
  changed: string[];
  set?: Record<string, unknown>;
  unset?: Record<string, ''>;
  /**
   * The user as read at `from`, whole, under the lease this write holds: the user as stored afterwards is then known
   * (this update applied to it) and handed to the reaction, which reads nothing again.
   */
  read?: UserDoc;
}

/** A user document with an update's `$set`/`$unset` of dotted paths applied (copied along each path, not in place). */
function withPaths(doc: UserDoc, set: Record<string, unknown>, unset: Record<string, ''>): UserDoc {
  const out = { ...doc } as Record<string, unknown>;
  const place = (path: string, value: unknown, remove: boolean) => {
    const keys = path.split('.');
    let at = out;
    for (const key of keys.slice(0, -1)) {
      const inner = at[key];
      at = at[key] = inner && typeof inner === 'object' && !Array.isArray(inner) && !(inner instanceof Date) ? { ...(inner as object) } : {};
    }
    if (remove) delete at[keys.at(-1)!];
    else at[keys.at(-1)!] = value;
  };
  for (const path of Object.keys(unset)) place(path, undefined, true);
  for (const [path, value] of Object.entries(set)) place(path, value, false);
  return out as unknown as UserDoc;
}

/**
 * Writes path changes to many users at once (unordered updates by `_id`), as one directory write; `now` stamps
 * `updatedAt`. Returns the users written (those the outbox refused are not).
 */
export async function updateUsers(ctx: WriteContext, updates: ReadonlyMap<string, PathsUpdate>, now = new Date()): Promise<ReadonlySet<string>> {
  if (updates.size === 0) return new Set();
  const planned = [...updates].map(([user, u]): PlannedChange => ({ user, kind: 'user.changed', changed: u.changed, from: u.from }));
  const { result } = await writeUsers(ctx, planned, async (events) => {
    const docs = new Map<string, UserDoc>();
    const writes = [...events].map(([user, event]) => {
      const u = updates.get(user)!;
      const set = { ...u.set, updatedAt: now, version: event.version };
      const update: Record<string, unknown> = { $set: set };
      if (u.unset && Object.keys(u.unset).length) update.$unset = u.unset;
      if (u.read) docs.set(user, withPaths(u.read, set, u.unset ?? {}));
      return { _id: user, update, where: atVersion(u.from) };
    });
    await db().bulkUpdateById(usersCollection(), writes);
    const stored = new Set(events.keys());
    return { result: stored, stored, docs };
  });
  return result;
}

/**
 * Applies an open write's events to the users as stored now, with the write's own run key and instant (what its
 * first reaction would have written, so history stays exactly once); events whose user write never happened are
 * discarded. `only`: apply just these users' events (the write stays open for the others).
 */
async function applyOpenWrite(write: OpenWriteDoc, only?: ReadonlySet<string>): Promise<void> {
  const events = (await eventsOfWrite(write._id)).filter((e) => !only || only.has(e.user));
  const { byId } = await readUsersByIds([...new Set(events.map((e) => e.user))], { _id: 1, version: 1, createdAt: 1 });
  const landed: UserEventDoc[] = [];
  const neverStored: UserEventDoc[] = [];
  for (const e of events) (eventLanded(e, byId.get(e.user)) ? landed : neverStored).push(e);
  if (landed.length) {
    await whileApplying(write._id, () => reactToDirectoryWrite(landed.map(changeOf), { id: write._id, at: write.at, replay: true }));
  }
  await discardEvents(neverStored);
}

/**
 * The reactions still owed to these users, applied now: called by a batch under its users' locks, before it writes.
 * A batch retried after a failure (the database went away mid-batch) finds the users it stored the first time
 * unchanged and writes nothing for them; their membership is owed by the first attempt's open write, which would
 * otherwise wait for the replay job. An open write whose users are all here closes.
 */
export async function settleOwed(users: ReadonlySet<string>): Promise<void> {
  if (users.size === 0) return;
  for (const write of await openWritesNaming(users)) {
    const all = write.userIds.every((u) => users.has(u));
    try {
      await applyOpenWrite(write, all ? undefined : users);
    } catch {
      // Still owed, to the replay job as before: the batch itself is not refused for an older write's reaction.
      continue;
    }
    if (all) await closeWrite(write._id);
  }
}

interface ReplayResult {
  /** Writes applied and closed. */
  replayed: number;
  /** Writes whose replay failed again (left open for a later attempt). */
  failed: number;
  /** Users the replayed writes named. */
  users: number;
  errors: string[];
}

interface ReplayOptions {
  /** Replay this write now, due or not (the job enqueued by its failure). */
  only?: string;
  now?: Date;
  progress?: (done: number, total: number) => Promise<void>;
}

/** How often a replay reports progress while one write's reaction runs (it extends the job's lock). */
const KEEP_ALIVE_MS = 2_000;

/** Applies the due open writes (or the one named), each under its users' locks; closes each that succeeds. */
export async function replayDue(opts: ReplayOptions = {}): Promise<ReplayResult> {
  const due = await dueWrites(opts);
  const result: ReplayResult = { replayed: 0, failed: 0, users: 0, errors: [] };
  let done = 0;
  // A replay of 10,000 users takes longer than a job's lock lasts without progress: without this, the job would be
  // taken over and run again while it is still running.
  const keepAlive = opts.progress ? setInterval(() => void opts.progress!(done, due.length).catch(() => undefined), KEEP_ALIVE_MS) : undefined;
  try {
    for (const write of due) {
      try {
        await withLocks(write.userIds.map(userLock), () => applyOpenWrite(write));
        await closeWrite(write._id);
        result.replayed++;
        result.users += write.users;
      } catch (err) {
        const error = asError(err);
        await replayFailed(write, error);
        result.failed++;
        result.errors.push(`${write._id}: ${error.message}`);
      }
      await opts.progress?.(++done, due.length);
    }
  } finally {
    if (keepAlive) clearInterval(keepAlive);
  }
  return result;
}
