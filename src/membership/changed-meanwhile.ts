// A sync that streams the directory reads each user once and writes what it decided a little later (additions in
// flushes, removals at the end, after the safety valve). A directory write in between is reacted to at once, but
// that reaction may read before the sync's write lands, and the sync then writes from what it read before: a member
// added back after a move, or a user who left kept in. So a streaming sync notes where the change feed stood before
// it read anything and, once its own writes are done, evaluates again every user the feed names since: fresh reads,
// under the users' locks, through the same reaction as any directory change.
//
// Why the feed is enough: it hears of a directory change before the change's membership reaction starts
// (directory-events.ts, `ahead`). A change it has not heard of when the recheck reads it has a reaction still to
// read, after the sync's writes, which it then sees.
import { userLock } from '../directory/lock-keys.js';
import { withLocks } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import { holdFeed, readChangesAfter, releaseFeed } from '../snapshot/change-feed.js';
import { applyDirectoryChanges, type ChangeOutcome } from './on-change.js';
import type { SafetyValve } from './policy.js';
import { EVERY_PATH } from './rule-reads.js';

/**
 * Where the change feed stands: taken before a sync reads anything, by the sync's run or job id. The feed keeps
 * what follows until letGo (a snapshot would otherwise prune it while a long sync runs).
 */
export const feedPosition = (holder: string): Promise<number> => holdFeed(holder);
export const letGo = (holder: string): Promise<void> => releaseFeed(holder);

export interface RecheckOptions {
  actor: string;
  valve: SafetyValve;
  metrics?: Metrics;
}

export interface ChangedMeanwhile {
  /** Users a directory write changed. */
  users: Set<string>;
  /**
   * Groups whose membership of one of those users changed: a count a sync derived from what it read does not
   * know of those changes (the sync's own writes for those users included: counting again is the safe side).
   */
  groups: Set<string>;
}

/** What the change feed names since `position`. */
export async function changedSince(position: number): Promise<ChangedMeanwhile> {
  const entries = await readChangesAfter(position);
  const users = new Set<string>();
  for (const entry of entries) for (const u of entry.users ?? []) users.add(u);
  const groups = new Set<string>();
  for (const entry of entries) {
    for (const id of entry.memberships ?? []) {
      // `<groupId>:<externalId>`; group ids hold no colon (membershipId).
      const colon = id.indexOf(':');
      if (users.has(id.slice(colon + 1))) groups.add(id.slice(0, colon));
    }
  }
  return { users, groups };
}

/** Re-evaluates these users (changedSince's) against every active automatic group. */
export async function recheckUsers(users: Iterable<string>, opts: RecheckOptions): Promise<ChangeOutcome | undefined> {
  const ids = [...users];
  if (ids.length === 0) return undefined;
  return withLocks(ids.map(userLock), () =>
    applyDirectoryChanges(
      ids.map((externalId) => ({ kind: 'user.changed' as const, externalId, changed: [EVERY_PATH], actor: opts.actor })),
      { valve: opts.valve, ...(opts.metrics ? { metrics: opts.metrics } : {}) },
    ),
  );
}
