// Due time flips → membership: the users whose result changes by time alone at an instant are evaluated again, each
// against the group that flips them only, through the one reconcile sequence, as a directory change evaluates its
// users. Everything is fixed by the flip: the instant decided at and written (`at`), the writer's key
// (`time:<at ms>`), so that two workers, or a retry after a killed worker, write the very same documents and
// history entries once. The users' locks are held throughout, as directory writes hold them: a flip and an HR write
// to one user never interleave.
import { userLock } from '../directory/lock-keys.js';
import { readUsers } from '../directory/user-store.js';
import { withLocks } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import { loadActiveAutomaticGroups } from './active-groups.js';
import { bumpCounts, markFailed, storedValveSizes } from './group-state.js';
import { readUsersStanding } from './users-standing.js';
import type { SafetyValve } from './policy.js';
import { netWins, reconcile, type Scope } from './reconcile.js';
import { clearHandled, type TimeFlipDoc } from './time-flips.js';

export const TIME_FLIP_ACTOR = 'job:time-flips';

export interface FlipOutcome {
  /** Flips handled (evaluated again, or found stale). */
  flips: number;
  added: number;
  removed: number;
  failed: Record<string, string>;
}

/**
 * Applies flips that are all due at one instant `at` (the caller groups them so). Flips of groups that no longer
 * exist or read the clock, and of deleted users, are dropped without an evaluation.
 */
export async function applyTimeFlips(due: readonly TimeFlipDoc[], at: Date, deps: { valve: SafetyValve; metrics?: Metrics }): Promise<FlipOutcome> {
  const result: FlipOutcome = { flips: due.length, added: 0, removed: 0, failed: {} };
  if (due.length === 0) return result;
  const userIds = [...new Set(due.map((f) => f.externalId))];
  await withLocks(userIds.map(userLock), async () => {
    const ctx = { runKey: `time:${at.getTime()}`, at, ...(deps.metrics ? { metrics: deps.metrics } : {}) };
    const unevaluated: TimeFlipDoc[] = [];
    await reconcile(timeScope(due, at, result, unevaluated), { write: ctx, valve: deps.valve });
    // The evaluation replaced or cleared the flips of the users it evaluated. The others (a deleted user, a group gone,
    // paused or no longer timed, a rule that failed) are done with: the next sync of the group computes them again.
    await clearHandled([...unevaluated, ...due.filter((f) => f.group in result.failed)]);
  });
  return result;
}

function timeScope(due: readonly TimeFlipDoc[], at: Date, result: FlipOutcome, unevaluated: TimeFlipDoc[]): Scope<FlipOutcome> {
  return {
    kind: 'time',
    now: at,
    actor: TIME_FLIP_ACTOR,
    // A flip is the rule doing what it says at the instant it says: the safety valve, which holds mass removals from
    // a truncated feed or a broken rule, does not weigh it (10,000 certifications may lapse at one midnight).
    minRemovalsWeighed: Number.POSITIVE_INFINITY,
    async read() {
      const groups = (await loadActiveAutomaticGroups()).filter((g) => g.nextChange);
      const timed = new Set(groups.map((g) => g.id));
      const live = due.filter((f) => timed.has(f.group));
      const userIds = [...new Set(live.map((f) => f.externalId))];
      const [users, standing] = await Promise.all([readUsers(userIds), readUsersStanding(userIds)]);
      unevaluated.push(...due.filter((f) => !timed.has(f.group) || !users.has(f.externalId)));
      // Per user: the groups that flip them now, and why.
      const flipsOf = new Map<string, Map<string, string>>();
      for (const f of live) {
        let mine = flipsOf.get(f.externalId);
        if (!mine) flipsOf.set(f.externalId, (mine = new Map()));
        mine.set(f.group, f.reason);
      }
      return {
        groups: groups.filter((g) => live.some((f) => f.group === g.id)),
        storedFlips: new Map(live.map((f) => [f._id, f])),
        async feed(planner) {
          for (const [externalId, mine] of flipsOf) {
            const user = users.get(externalId);
            if (!user) continue;
            planner.user(user, {
              actor: TIME_FLIP_ACTOR,
              only: (g) => mine.has(g.id),
              because: (g) => mine.get(g.id),
              current: (g) => standing.current(g, externalId),
              excluded: (g) => standing.excluded(g, externalId),
            });
          }
        },
      };
    },
    valveSizes: (groupIds) => storedValveSizes(groupIds),
    async settle(outcome) {
      for (const n of outcome.created.values()) result.added += n;
      for (const n of outcome.deleted.values()) result.removed += n;
      await bumpCounts(netWins(outcome), at);
      for (const [groupId, message] of outcome.failures) {
        result.failed[groupId] = message;
        await markFailed(groupId, message);
      }
      return result;
    },
  };
}
