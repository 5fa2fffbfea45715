// What follows a directory write, across domains: the hop from a stored user to their memberships. Every directory
// writer calls reactToDirectoryWrite (through src/directory/user-writes.ts) with the users it stored, under their
// locks, before it answers; the replay of an open write calls it the same way. Kept here so that neither the
// directory nor membership imports the other's internals. What it needs from the process (configuration, metrics,
// the logger) is installed at start by src/wiring.ts.
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { Clock } from './platform/clock.js';
import type { DirectoryChange, PublishMeta } from './directory/directory-change.js';
import { followDirectoryWrite } from './membership/on-change.js';
import { followEnrolments } from './class-sync/class-sync.listener.js';
import { recordChanges } from './snapshot/change-feed.js';
import type { SafetyValve } from './membership/policy.js';
import type { ReactionFaults } from './membership/on-change.js';

export interface ReactionContext {
  valve: SafetyValve;
  metrics: Metrics;
  logger: Logger;
  /** The calendar's now (whether a course's class sync has ended). */
  clock: Clock;
  /** Injected by tests (start's options) to make reactions fail. */
  faults?: ReactionFaults;
}

let wired: ReactionContext | undefined;

/**
 * Membership, and the class groups of courses with an active class sync, follow the stored users. Throws when either
 * failed (the write then stays open and is applied again: both are idempotent), or when nothing is wired in this
 * process (stopping, or a tool that never started the service): then nothing is applied and the write stays owed.
 */
export async function reactToDirectoryWrite(changes: readonly DirectoryChange[], meta: PublishMeta): Promise<void> {
  if (changes.length === 0) return;
  if (!wired) throw new Error('no reaction is wired in this process (stopping?): the write stays open for the replay job');
  const deps = wired;
  // The snapshot's change feed hears of the change first: a full sync that read a user before this write looks in
  // the feed, after its own writes, for users changed meanwhile, which only works if every write whose membership
  // reaction could have read before the sync wrote is in the feed by then.
  await recordChanges({ users: changes.map((c) => c.externalId) });
  const outcomes = await Promise.allSettled([followDirectoryWrite(changes, meta, deps), followEnrolments(changes, meta, deps)]);
  const failed = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Installs what the reactions need (at start); returns a function that removes it again (stop). */
export function useReactionContext(context: ReactionContext): () => void {
  wired = context;
  return () => {
    if (wired === context) wired = undefined;
  };
}
