// The single place where changes to users and enrolments are announced, so that membership can react. Who
// listens is wired in src/reactions.ts: membership (membership/on-change.ts) and the snapshot's change feed.
//
// Contract:
// - publish() is called only for real changes (a write that changes nothing publishes nothing), after the change
//   is stored, with every change of one request in one call (a batch of 10,000 is one publish).
// - publish() awaits every listener: when a write request answers, its consequences (membership) are applied.
//   A listener that throws never undoes the stored change: announce() below journals every publish and a job
//   replays it (replayDue), so listeners must be idempotent (they may hear a change again).
import type { Logger } from '../platform/logger.js';
import { withLocks } from '../platform/db/index.js';
import { userLock } from './lock-keys.js';
import type { DirectoryChange, PublishMeta } from './directory-change.js';
import {
  asError,
  closeEntry,
  dueEntries,
  entriesNaming,
  failEntry,
  openEntry,
  replayFailed,
  whileReacting,
  type JournaledIntent,
  type ReplayOptions,
  type ReplayResult,
} from './reaction-journal.js';

export type { DirectoryChange, DirectoryChangeKind, PublishMeta } from './directory-change.js';

export type DirectoryListener = (changes: readonly DirectoryChange[], meta?: PublishMeta) => Promise<void>;

const listeners = new Set<DirectoryListener>();
/** Listeners that hear a publish before the others start (see subscribeDirectoryChanges). */
const ahead = new Set<DirectoryListener>();

/**
 * `ahead`: this listener has heard the change before any other listener starts. The change feed is ahead: a full
 * sync that read a user before a write looks in the feed, after its own writes, for users changed meanwhile, and
 * that only works if every write whose membership reaction could have read before the sync wrote is in the feed.
 */
export function subscribeDirectoryChanges(listener: DirectoryListener, opts: { ahead?: boolean } = {}): () => void {
  (opts.ahead ? ahead : listeners).add(listener);
  return () => {
    ahead.delete(listener);
    listeners.delete(listener);
  };
}

/** Whether anything listens: a replay of journaled changes with no listener wired would drop them unheard. */
export function hasDirectoryListeners(): boolean {
  return listeners.size + ahead.size > 0;
}

export async function publishDirectoryChanges(changes: readonly DirectoryChange[], meta?: PublishMeta): Promise<void> {
  if (changes.length === 0) return;
  const first = await Promise.allSettled([...ahead].map((l) => l(changes, meta)));
  const rest = await Promise.allSettled([...listeners].map((l) => l(changes, meta)));
  const failed = [...first, ...rest].find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// How a directory write announces what it stored: one publish per request, after the write, through the reaction
// journal (reaction-journal.ts), so that a reaction that fails is finished by a job rather than lost.
//
// A failed reaction does not fail the request. The write is stored and cannot be undone; its reaction is now
// journaled and owed by the replay job, the failure is logged at error level, counted
// (autogroups_directory_reaction_failures_total), and every group it may affect shows it in its `sync` object
// (`pendingUsers`, `lastError`) until the job has caught up. Answering 5xx instead would tell a client to retry a
// write that succeeded (the retry changes nothing and announces nothing, so it would not help), and 202 is not
// what the contract promises for PUT and batches. Only when the change could neither be journaled nor applied is
// the request failed: then nothing would be left to finish the work.

/** Who writes and where to log: what every directory write needs besides its input. */
export interface WriteContext {
  actor: string;
  logger: Logger;
}

/** `intent`: the write journaled its changes before writing (writeAhead); this finishes that entry. */
export async function announce(ctx: WriteContext, changes: readonly DirectoryChange[], intent?: JournaledIntent, stored?: PublishMeta['stored']): Promise<void> {
  if (changes.length === 0) {
    // Nothing was stored after all (every record refused): the write-ahead entry has nothing to finish.
    if (intent) await closeEntry(intent.entry);
    return;
  }
  // Journaled first (or already, by writeAhead), removed once every listener succeeded.
  const { entry, journalError } = intent ? { entry: intent.entry, journalError: undefined } : await openEntry(changes);
  if (journalError) ctx.logger.warn({ err: journalError, changes: changes.length }, 'a directory change could not be journaled; its reactions ran');
  try {
    await publishDirectoryChanges(changes, { id: entry._id, at: entry.at, ...(stored ? { stored } : {}) });
  } catch (err) {
    const error = asError(err);
    if (journalError) throw new AggregateError([journalError, error], 'a directory change could neither be journaled nor applied');
    await failEntry(entry, error);
    ctx.logger.error(
      { err: error, changes: changes.length, first: changes[0]?.externalId },
      'a directory change listener failed; the change is stored and journaled, and a job replays its reactions',
    );
    return;
  }
  if (!journalError) await closeEntry(entry);
}

/**
 * The reactions still owed to these users, run now: called by a batch under its users' locks, before it writes.
 * A batch retried after a failure (the database went away mid-batch) finds the users it stored the first time
 * unchanged and announces nothing for them; their membership was owed to the replay job, which would settle it
 * only after the retry answered. Every journal entry naming one of these users is owed (no write of theirs is in
 * flight: this caller holds their locks): its changes for them are published again as the first reaction would
 * have written them (same run key and instant), and an entry whose users are all here leaves the journal.
 */
export async function settleOwedReactions(users: ReadonlySet<string>): Promise<void> {
  if (users.size === 0 || !hasDirectoryListeners()) return;
  for (const entry of await entriesNaming(users)) {
    const mine = entry.changes.filter((c) => users.has(c.externalId));
    try {
      await whileReacting(entry._id, () => publishDirectoryChanges(mine, { id: entry._id, at: entry.at, replay: true }));
    } catch {
      // Still owed, to the replay job as before: the batch itself is not refused for an older write's reaction.
      continue;
    }
    if (mine.length === entry.changes.length) await closeEntry(entry);
  }
}

/** Publishes due journal entries again through the same listeners; removes each that succeeds. */
export async function replayDue(opts: ReplayOptions = {}): Promise<ReplayResult> {
  if (!hasDirectoryListeners()) throw new Error('no directory listener is wired in this process (stopping?): nothing replayed');
  const due = await dueEntries(opts);
  const result: ReplayResult = { replayed: 0, failed: 0, users: 0, errors: [] };
  let done = 0;
  // A replay of 10,000 users takes longer than a job's lock lasts without progress: without this, the job would be
  // taken over and run again while it is still running.
  const keepAlive = opts.progress ? setInterval(() => void opts.progress!(done, due.length).catch(() => undefined), KEEP_ALIVE_MS) : undefined;
  try {
    for (const entry of due) await replayOne(entry);
  } finally {
    if (keepAlive) clearInterval(keepAlive);
  }
  return result;

  async function replayOne(entry: (typeof due)[number]): Promise<void> {
    try {
      // Under the users' locks, as the write's own reaction: a replay that read a user before a retry of the write
      // stored them, and their memberships after its reaction added them, would take those out as "user deleted".
      await withLocks(entry.changes.map((c) => userLock(c.externalId)), () =>
        whileReacting(entry._id, () => publishDirectoryChanges(entry.changes, { id: entry._id, at: entry.at, replay: true })),
      );
      await closeEntry(entry);
      result.replayed++;
      result.users += entry.users;
    } catch (err) {
      const error = asError(err);
      await replayFailed(entry, error);
      result.failed++;
      result.errors.push(`${entry._id}: ${error.message}`);
    }
    await opts.progress?.(++done, due.length);
  }
}

/** How often a replay reports progress while one entry's reaction runs (it extends the job's lock). */
const KEEP_ALIVE_MS = 2_000;
