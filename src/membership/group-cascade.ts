// Groups of groups: when users join or leave group A, every group whose rule names A (`memberOf`), directly or
// through other groups, is evaluated again for those users, in dependency order, before the write that moved them
// answers. One function does it for every source of change: hand edits, key joins, copies, CSV uploads, class
// syncs, a group's sync after its rule changed, time flips — the membership store hands over what it wrote
// (setMembershipsMovedHook, installed by src/wiring.ts), and a reconcile pass hands over the changes its own pass
// did not settle (reconcile.ts, step 6).
//
// It is a reconcile scope of its own: the moved users, against the groups that name the moved groups. The planner
// evaluates a group for a user only when a group its rule names changed for that user (the cause, or a group
// evaluated before it in this pass), so each level is evaluated once per change, and history says which ("matches
// rule v2: joined VIP"). It runs under the users' locks, as a directory write's reaction does: two writes at two
// levels for one user (an HR change moving them into A, a hand edit adding them to B, and C = A and B) are evaluated
// one after the other, so the second sees the first's memberships, whichever process runs each.
import { readUsers } from '../directory/user-store.js';
import { userLock } from '../directory/lock-keys.js';
import { withLocks } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import { loadGroups, type EvalGroup } from './active-groups.js';
import { bumpCounts, markFailed, storedValveSizes } from './group-state.js';
import type { MembershipMove } from './membership-store.js';
import { readUsersStanding } from './users-standing.js';
import { heldRemovalsMessage, type SafetyValve } from './policy.js';
import { netWins, reconcile, type Scope } from './reconcile.js';
import type { GroupGraph } from '../groups/group-graph.js';

export interface CascadeOptions {
  /** Who caused the change (history's actor). */
  actor: string;
  /** The instant written; the cause's, so that a re-run of the cause writes the same documents. */
  at: Date;
  /** The cause's writer key: the cascade writes as `<runKey>:cascade`. */
  runKey: string;
  valve: SafetyValve;
  metrics?: Metrics;
  /** Groups the caller evaluated after these changes already (its reconcile pass): not evaluated again. */
  evaluated?: ReadonlySet<string>;
  /** The graph as the caller read it with the groups: when no group names a moved one, nothing is read. */
  graph?: GroupGraph;
}

export interface CascadeOutcome {
  users: number;
  /** The groups evaluated, in dependency order. */
  groups: string[];
  added: number;
  removed: number;
}

/** Users evaluated under one set of locks (a group sync can move 50,000). */
const USERS_PER_PASS = 1000;

/**
 * Re-evaluates, for the moved users, every active automatic group whose rule names a moved group (directly or
 * through others), in dependency order, and writes the difference. Nothing to do (no group names a moved group)
 * costs one read of the groups.
 */
export async function followMembershipChanges(moves: readonly MembershipMove[], opts: CascadeOptions): Promise<CascadeOutcome> {
  const outcome: CascadeOutcome = { users: 0, groups: [], added: 0, removed: 0 };
  if (moves.length === 0) return outcome;
  const pending = (g: GroupGraph) => g.dependentsOf(new Set(moves.map((m) => m.groupId))).filter((id) => !opts.evaluated?.has(id));
  // The common case, a change no rule follows, costs nothing more when the caller read the groups already.
  if (opts.graph && pending(opts.graph).length === 0) return outcome;
  const { active, graph } = await loadGroups();
  const byId = new Map(active.map((g) => [g.id, g]));
  const groups = pending(graph)
    .map((id) => byId.get(id))
    .filter((g): g is EvalGroup => g !== undefined);
  if (groups.length === 0) return outcome;
  outcome.groups = groups.map((g) => g.id);
  const changed = new Map<string, Set<string>>();
  for (const m of moves) {
    const set = changed.get(m.externalId);
    if (set) set.add(m.groupId);
    else changed.set(m.externalId, new Set([m.groupId]));
  }
  const users = [...changed.keys()];
  outcome.users = users.length;
  for (let i = 0; i < users.length; i += USERS_PER_PASS) {
    const chunk = users.slice(i, i + USERS_PER_PASS);
    await withLocks(chunk.map(userLock), () =>
      reconcile(cascadeScope(chunk, changed, groups, graph, opts, outcome), {
        write: { runKey: `${opts.runKey}:cascade`, at: opts.at, ...(opts.metrics ? { metrics: opts.metrics } : {}) },
        valve: opts.valve,
      }),
    );
  }
  return outcome;
}

function cascadeScope(
  users: readonly string[],
  changed: ReadonlyMap<string, ReadonlySet<string>>,
  groups: readonly EvalGroup[],
  graph: GroupGraph,
  opts: CascadeOptions,
  result: CascadeOutcome,
): Scope<void> {
  return {
    kind: 'cascade',
    now: opts.at,
    actor: opts.actor,
    // One user's change never trips the valve; a sync that would take many out of a dependent group at once may.
    minRemovalsWeighed: 2,
    async read() {
      // Read under the users' locks: every membership of theirs (the rules may name any group), and exclusions.
      const [docs, standing] = await Promise.all([readUsers(users), readUsersStanding(users)]);
      const groupName = (id: string) => graph.name(id);
      return {
        groups,
        // Its own changes are settled in this pass (every group naming them is in it): nothing more is read after.
        graph,
        async feed(planner) {
          for (const externalId of users) {
            const doc = docs.get(externalId);
            if (!doc) continue; // deleted meanwhile: its deletion took it out of every group
            planner.user(doc, {
              actor: opts.actor,
              only: () => false,
              changed: changed.get(externalId)!,
              groupName,
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
      await bumpCounts(netWins(outcome), opts.at);
      for (const [groupId, n] of outcome.held) {
        await markFailed(groupId, heldRemovalsMessage(opts.valve, n, outcome.sizes.get(groupId)?.members ?? 0), n);
      }
      for (const [groupId, message] of outcome.failures) await markFailed(groupId, message);
    },
  };
}
