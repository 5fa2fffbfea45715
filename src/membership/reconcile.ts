// The one reconcile sequence: read → plan → safety valve → write → counts and state → the groups naming the groups
// it changed (group-cascade.ts). Every way membership is brought in line with the rules runs it; a scope only says
// what to read and how to settle:
//   changed users (on-change.ts), one group (group-sync.ts), a partition of the full sync (full-sync.ts), and a
//   preview (group-sync.ts: the group scope or the snapshot, with nothing written), and a course's class groups
//   (src/class-sync/class-sync.scope.ts).
// Writes go to the membership store; a scope with no writer (a preview) gets the plan back instead.
import type { EvalGroup } from './active-groups.js';
import type { MembershipDoc } from './membership.model.js';
import { addMemberships, completeOwnHistory, followMoves, removeMemberships, type MembershipMove, type WriteContext } from './membership-store.js';
import { Planner, type PlannedAdd, type PlannedRemove } from './planner.js';
import { mustHoldRemovals, type SafetyValve } from './policy.js';
import type { GroupGraph } from '../groups/group-graph.js';
import { writeFlips, type FlipWriteOutcome, type TimeFlipDoc } from './time-flips.js';
import { isUserDeletion } from './change-reasons.js';

export type ScopeKind = 'change' | 'group' | 'partition' | 'preview' | 'class' | 'time' | 'cascade';

/** What a scope read, before any user is evaluated. */
export interface ScopeInput {
  /** The groups the planner evaluates. */
  groups: readonly EvalGroup[];
  /** Evaluates every user of the scope; calls `flush` as additions accumulate (a long pass writes as it goes). */
  feed(planner: Planner, flush: () => Promise<void>): Promise<void>;
  /** Memberships this writer inserted in an interrupted earlier run, whose history may be missing. */
  own?: readonly MembershipDoc[];
  /** The reason written with such a membership's completed history. */
  ownReason?: (m: MembershipDoc) => string;
  /** The stored time flips of the users evaluated, when the scope read them already (the flip scope): not read again. */
  storedFlips?: ReadonlyMap<string, TimeFlipDoc>;
  /** The groups' dependency graph, when the scope read every group: step 6 then reads nothing when no group names a changed one. */
  graph?: GroupGraph;
}

/** Members of a group as the safety valve weighs removals: in the scope, and in the whole group. */
export interface ValveSize {
  members: number;
  size: number;
}

export interface Scope<R> {
  readonly kind: ScopeKind;
  /** The instant decisions are made at (time-based rules) and, when writing, the instant written. */
  readonly now: Date;
  readonly actor: string;
  read(): Promise<ScopeInput>;
  /** Sizes of the groups whose removals the valve weighs. */
  valveSizes(groupIds: readonly string[]): Promise<Map<string, ValveSize>>;
  /** Fewest removals from one group that the valve weighs (1 when absent). */
  readonly minRemovalsWeighed?: number;
  /** Drop every removal of a group whose rule failed, deleted users' too (one group's sync leaves it as it is). */
  readonly keepFailedGroups?: boolean;
  /** Counts and state from what was done; its result is the scope's answer. */
  settle(outcome: ReconcileOutcome): Promise<R>;
}

export interface ReconcileOptions {
  /** Where and as whom to write; null plans only (a preview). */
  write: WriteContext | null;
  valve: SafetyValve;
  /** An admin confirmed: removals are written whatever the valve says. */
  confirmRemovals?: boolean;
}

export interface ReconcileOutcome {
  groups: readonly EvalGroup[];
  /** Planned additions per group (written, unless planning only). */
  planned: Map<string, number>;
  /** Memberships this run inserted, per group. */
  created: Map<string, number>;
  /** The planned additions themselves, when planning only. */
  adds: PlannedAdd[];
  /** Removals that pass the valve (written, unless planning only). */
  removes: PlannedRemove[];
  /** Memberships this run deleted, per group. */
  deleted: Map<string, number>;
  /** Removals the valve held, per group. */
  held: Map<string, number>;
  /** Groups whose rule failed, with the reason. */
  failures: Map<string, string>;
  sizes: Map<string, ValveSize>;
  /** What the time flips of the evaluated users came to (written, cleared, unchanged); absent when planning only. */
  flips?: FlipWriteOutcome;
}

/**
 * What a run's own writes won, per group it changed: the memberships it inserted minus those it deleted (an insert or
 * delete another writer made first is that writer's). Every writer moves a group's count by this, and only by it.
 */
export function netWins(outcome: Pick<ReconcileOutcome, 'created' | 'deleted'>): Map<string, number> {
  const wins = new Map<string, number>();
  for (const [g, n] of outcome.created) if (n > 0) wins.set(g, (wins.get(g) ?? 0) + n);
  for (const [g, n] of outcome.deleted) if (n > 0) wins.set(g, (wins.get(g) ?? 0) - n);
  return wins;
}

/** Additions are written in batches of this many while users are still being evaluated. */
const FLUSH_ADDS = 5000;

const bump = (map: Map<string, number>, key: string, by = 1) => map.set(key, (map.get(key) ?? 0) + by);

export async function reconcile<R>(scope: Scope<R>, opts: ReconcileOptions): Promise<R> {
  // 1. Read what the scope covers.
  const input = await scope.read();
  const planner = new Planner(input.groups, scope.now);
  const outcome: ReconcileOutcome = {
    groups: input.groups,
    planned: new Map(),
    created: new Map(),
    adds: [],
    removes: [],
    deleted: new Map(),
    held: new Map(),
    failures: new Map(),
    sizes: new Map(),
  };

  // The groups this pass evaluated, each after the groups its rule names (planner.ts): its own changes have been
  // seen by those of them that name the changed groups. Others that do are followed after the writes (step 6).
  const write: WriteContext | null = opts.write ? { ...opts.write, followsDependents: true } : null;
  const moved: MembershipMove[] = [];
  const movedAfterPass: MembershipMove[] = [];

  // 2. Plan, writing additions as they accumulate (they never wait for the valve).
  const flush = async (force = false) => {
    if (!force && planner.pendingAdds() < FLUSH_ADDS) return;
    const adds = planner.takeAdds();
    for (const a of adds) bump(outcome.planned, a.groupId);
    if (!write) outcome.adds.push(...adds);
    else {
      for (const [g, n] of await addMemberships(adds, write)) bump(outcome.created, g, n);
      for (const a of adds) (a.afterPass ? movedAfterPass : moved).push({ groupId: a.groupId, externalId: a.externalId });
    }
  };
  await input.feed(planner, () => flush());
  await flush(true);
  outcome.failures = planner.failures();
  let removes = planner.takeRemoves();
  if (scope.keepFailedGroups) removes = removes.filter((r) => !outcome.failures.has(r.groupId));

  // 3. The safety valve: a run that would take more than the allowed share out of a group at once (a truncated HR
  //    feed, a broken rule) holds those removals until an admin confirms. Deleted users leave regardless.
  if (opts.write) {
    const perGroup = new Map<string, number>();
    for (const r of removes) if (!isUserDeletion(r)) bump(perGroup, r.groupId);
    const weighed = [...perGroup].filter(([, n]) => n >= (scope.minRemovalsWeighed ?? 1));
    if (weighed.length) outcome.sizes = await scope.valveSizes(weighed.map(([g]) => g));
    if (!opts.confirmRemovals) {
      for (const [groupId, n] of weighed) {
        const size = outcome.sizes.get(groupId);
        if (size && mustHoldRemovals(opts.valve, size.members, size.size, n)) outcome.held.set(groupId, n);
      }
    }
    if (outcome.held.size) {
      // The groups after a held group in this pass saw its members leave; they did not: followed again in step 6.
      for (const r of removes) if (!isUserDeletion(r) && outcome.held.has(r.groupId)) movedAfterPass.push({ groupId: r.groupId, externalId: r.externalId });
      removes = removes.filter((r) => isUserDeletion(r) || !outcome.held.has(r.groupId));
    }
  }
  outcome.removes = removes;

  // 4. Write the removals, and the history an interrupted earlier run of this writer left out.
  if (opts.write) {
    outcome.deleted = await removeMemberships(removes, write!);
    for (const r of removes) if (!isUserDeletion(r)) moved.push({ groupId: r.groupId, externalId: r.externalId });
    if (input.own?.length) {
      await completeOwnHistory(input.own, input.ownReason ?? (() => 'matches the rule'), scope.actor);
      // What an interrupted earlier run of this writer added may not have been followed by the groups naming it.
      for (const m of input.own) moved.push({ groupId: m.group, externalId: m.externalId });
    }
    // The evaluated users' next time flips, from the same facts and instant (a failed group's are left as they were).
    outcome.flips = await writeFlips(planner.takeFlips(), input.storedFlips);
  }

  // 5. Counts and state: the scope's.
  const result = await scope.settle(outcome);

  // 6. Groups of groups: the groups naming a group this pass changed for a user, and not evaluated after that change
  //    in this pass, are evaluated for those users now (group-cascade.ts), before the pass's caller answers.
  if (opts.write) {
    const evaluated = new Set(input.groups.map((g) => g.id));
    const ctx = { runKey: opts.write.runKey, at: opts.write.at, actor: scope.actor, ...(input.graph ? { graph: input.graph } : {}) };
    await followMoves(moved, { ...ctx, evaluated });
    await followMoves(movedAfterPass, ctx);
  }
  return result;
}
