// One group against the whole directory: the sync a rule change starts, the one an admin asks for, and the preview
// (the same plan, written nowhere). Candidates come from the rule's database filter (a superset of the users it
// selects), so the database hands over only users worth evaluating; members that are not candidates are read by
// `_id` and evaluated like everyone else.
import type { Collection } from 'mongodb';
import type { UserDoc } from '../directory/user.model.js';
import { usersCollection } from '../directory/user-store.js';
import type { Metrics } from '../platform/metrics.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import type { RuleDocument } from '../rules/index.js';
import { toEvalGroup, type EvalGroup } from './active-groups.js';
import { Planner, type PlannedAdd, type PlannedRemove } from './planner.js';
import { ExclusionModel, type ExclusionDoc, type MembershipDoc } from './membership.model.js';
import { completeOwnHistory, memberships, addMemberships, removeMemberships } from './membership-store.js';
import { db } from '../platform/db/index.js';
import { readUsers } from './on-change.js';
import { currentMembershipOf, heldRemovalsMessage, mustHoldRemovals, type CurrentMembership, type SafetyValve } from './policy.js';
import { markRunning, markSynced, setCount } from './group-state.js';
import { currentSnapshot } from '../snapshot/directory-snapshot.js';

const FLUSH_ADDS = 2000;
const PROGRESS_EVERY = 1000;

export interface GroupPlanOptions {
  now: Date;
  actor: string;
  /** The writer's key: memberships it inserted in an interrupted earlier run are returned in `own`. */
  runKey?: string;
  /** Called with additions as they accumulate (a sync writes them as it goes); kept in the plan otherwise. */
  onAdds?: (adds: PlannedAdd[]) => Promise<void>;
  onProgress?: (done: number) => Promise<void>;
}

export interface GroupPlan {
  group: EvalGroup;
  /** Members before the plan. */
  members: number;
  /** Additions not handed to onAdds. */
  adds: PlannedAdd[];
  addCount: number;
  removes: PlannedRemove[];
  failure?: string;
  own: MembershipDoc[];
  evaluated: number;
}

/** The users' filter for one group's candidates: the rule's filter, and active users unless inactive ones count. */
export function candidateFilter(group: EvalGroup, now: Date): Record<string, unknown> {
  const parts: Record<string, unknown>[] = [];
  const ruleFilter = group.compiled?.mongoFilter(now) ?? null;
  if (ruleFilter && Object.keys(ruleFilter).length > 0) parts.push(ruleFilter);
  if (!group.includeInactive) parts.push({ status: 'active' });
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0]! : { $and: parts };
}

export async function planGroup(group: EvalGroup, opts: GroupPlanOptions): Promise<GroupPlan> {
  const current = new Map<string, CurrentMembership>();
  const own: MembershipDoc[] = [];
  for await (const m of memberships().find({ group: group.id }).batchSize(2000)) {
    current.set(m.externalId, currentMembershipOf(m));
    if (opts.runKey && m.run === opts.runKey) own.push(m);
  }
  const excluded = await exclusionsOf(group.id);

  const plan: GroupPlan = { group, members: current.size, adds: [], addCount: 0, removes: [], own, evaluated: 0 };
  const planner = new Planner([group], opts.now);
  const ctxFor = (doc: UserDoc) => ({
    actor: opts.actor,
    current: () => current.get(doc._id),
    excluded: () => excluded.has(doc._id),
  });
  const take = async (force: boolean) => {
    if (!force && planner.pendingAdds() < FLUSH_ADDS) return;
    const adds = planner.takeAdds();
    plan.addCount += adds.length;
    if (opts.onAdds) await opts.onAdds(adds);
    else plan.adds.push(...adds);
  };

  const unseen = new Set(current.keys());
  if (group.compiled) {
    for await (const doc of usersCollection().find(candidateFilter(group, opts.now)).batchSize(2000)) {
      planner.user(doc, ctxFor(doc));
      unseen.delete(doc._id);
      plan.evaluated++;
      await take(false);
      if (opts.onProgress && plan.evaluated % PROGRESS_EVERY === 0) await opts.onProgress(plan.evaluated);
    }
    // Members the filter did not hand over: they no longer match, became inactive or were deleted.
    const rest = [...unseen];
    const found = await readUsers(rest);
    for (const id of rest) {
      const doc = found.get(id);
      if (doc) planner.user(doc, ctxFor(doc));
      else planner.deletedUser(id, new Map([[group.id, current.get(id)!]]), opts.actor, new Map([[group.id, group.ruleVersion]]));
      plan.evaluated++;
    }
  }
  await take(true);
  plan.removes = planner.takeRemoves();
  const failure = planner.failures().get(group.id);
  if (failure) {
    plan.failure = failure;
    plan.removes = [];
  }
  return plan;
}

export interface GroupSyncOptions {
  jobId: string;
  /** Fixed per job: a re-run writes the same documents. */
  at: Date;
  actor: string;
  confirmRemovals: boolean;
  valve: SafetyValve;
  metrics?: Metrics;
  progress?: (done: number, total: number) => Promise<void>;
}

export interface GroupSyncResult {
  groupId: string;
  skipped?: 'deleted' | 'manual' | 'paused';
  added?: number;
  removed?: number;
  heldRemovals?: number;
  memberCount?: number;
  error?: string;
}

export async function syncGroup(groupId: string, opts: GroupSyncOptions): Promise<GroupSyncResult> {
  const doc = await GroupModel.findById(groupId).lean<GroupDoc>();
  if (!doc) return { groupId, skipped: 'deleted' };
  if (doc.type !== 'automatic') return { groupId, skipped: 'manual' };
  if (doc.paused) {
    await markSynced(groupId, opts.at);
    return { groupId, skipped: 'paused' };
  }
  await markRunning(groupId, opts.jobId);
  const group = toEvalGroup(doc);
  if (!group.compiled) {
    await markSynced(groupId, opts.at, { message: group.compileError ?? 'the rule cannot be evaluated' });
    return { groupId, error: group.compileError };
  }
  const total = await db().estimateCount(usersCollection());
  const ctx = { runKey: opts.jobId, at: opts.at, ...(opts.metrics ? { metrics: opts.metrics } : {}) };
  let created = 0;
  const plan = await planGroup(group, {
    now: opts.at,
    actor: opts.actor,
    runKey: opts.jobId,
    onAdds: async (adds) => {
      for (const n of (await addMemberships(adds, ctx)).values()) created += n;
    },
    onProgress: async (done) => opts.progress?.(Math.min(done, total), total),
  });
  await completeOwnHistory(plan.own, (m) => `matches rule v${m.ruleVersion ?? group.ruleVersion}`, opts.actor);

  let held = 0;
  let removed = 0;
  if (plan.removes.length > 0) {
    if (!opts.confirmRemovals && mustHoldRemovals(opts.valve, plan.members, plan.members, plan.removes.length)) {
      held = plan.removes.length;
    } else {
      for (const n of (await removeMemberships(plan.removes, ctx)).values()) removed += n;
    }
  }
  const memberCount = plan.members + plan.addCount - (held ? 0 : plan.removes.length);
  const changed = plan.addCount > 0 || (!held && plan.removes.length > 0) || created > 0 || removed > 0;
  await setCount(groupId, memberCount, changed ? opts.at : undefined);
  const failure = plan.failure
    ? { message: plan.failure }
    : held
      ? { message: heldRemovalsMessage(opts.valve, held, plan.members), heldRemovals: held }
      : undefined;
  await markSynced(groupId, opts.at, failure);
  await opts.progress?.(total, total);
  return {
    groupId,
    added: plan.addCount,
    removed: held ? 0 : plan.removes.length,
    ...(held ? { heldRemovals: held } : {}),
    memberCount,
    ...(plan.failure ? { error: plan.failure } : {}),
  };
}

export interface PreviewResult {
  toAdd: number;
  toRemove: number;
  sampleAdd: string[];
  sampleRemove: string[];
}

const SAMPLE = 10;

/** What a sync would do with the stored or a proposed rule, changing nothing. */
export async function previewGroup(doc: GroupDoc, rule: RuleDocument | undefined, now: Date): Promise<PreviewResult & { error?: string }> {
  const plan = await planFromSnapshot(toEvalGroup(doc, rule), now);
  const sample = (ids: string[]) => ids.sort().slice(0, SAMPLE);
  return {
    toAdd: plan.adds.length,
    toRemove: plan.removes.length,
    sampleAdd: sample(plan.adds.map((a) => a.externalId)),
    sampleRemove: sample(plan.removes.map((r) => r.externalId)),
    ...(plan.failure ? { error: plan.failure } : {}),
  };
}

export interface SnapshotPlan {
  adds: PlannedAdd[];
  removes: PlannedRemove[];
  failure?: string;
}

/**
 * The additions and removals a sync of the group would plan, computed from the directory snapshot (every user's
 * facts and every membership, held in memory and up to date with every answered write) instead of the users and
 * memberships collections: on the embedded database those are read whole for any query but by `_id`, which takes
 * about a minute at 100,000 users. The same planner decides, so the answer is the one planGroup gives.
 */
export async function planFromSnapshot(group: EvalGroup, now: Date): Promise<SnapshotPlan> {
  const [snap, excluded] = await Promise.all([currentSnapshot(), exclusionsOf(group.id)]);
  const current = snap.members.get(group.id) ?? new Map<string, CurrentMembership>();
  const planner = new Planner([group], now);
  if (group.compiled) {
    for (const [externalId, user] of snap.users) {
      const membership = current.get(externalId);
      const ctx = { actor: 'preview', current: () => membership, excluded: () => excluded.has(externalId) };
      const facts = () => {
        if ('unreadable' in user) throw new Error(user.unreadable);
        return user;
      };
      planner.evaluate(externalId, { active: user.status === 'active', staff: user.type === 'staff' }, facts, ctx);
    }
    for (const [externalId, membership] of current) {
      if (!snap.users.has(externalId)) planner.deletedUser(externalId, new Map([[group.id, membership]]), 'preview', new Map([[group.id, group.ruleVersion]]));
    }
  }
  const adds = planner.takeAdds();
  const failure = planner.failures().get(group.id);
  return failure ? { adds, removes: [], failure } : { adds, removes: planner.takeRemoves() };
}

async function exclusionsOf(groupId: string): Promise<Set<string>> {
  const excluded = new Set<string>();
  const exclusions = ExclusionModel.collection as unknown as Collection<ExclusionDoc>;
  for await (const e of exclusions.find({ group: groupId }, { projection: { externalId: 1 } })) excluded.add(e.externalId);
  return excluded;
}
