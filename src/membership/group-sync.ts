// One group against the whole directory, as scopes of the reconcile sequence (reconcile.ts): the sync a rule change
// starts, the one an admin asks for, and the preview (the same plan from the directory snapshot, written nowhere). Candidates come from the rule's database filter (a superset of the users it
// selects), so the database hands over only users worth evaluating; members that are not candidates are read by
// `_id` and evaluated like everyone else.
import type { UserDoc } from '../directory/user.model.js';
import { readUsers, usersCollection } from '../directory/user-store.js';
import type { Metrics } from '../platform/metrics.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import type { RuleDocument } from '../rules/index.js';
import { toEvalGroup, type EvalGroup } from './active-groups.js';
import type { PlannedAdd, PlannedRemove } from './planner.js';
import type { MembershipDoc } from './membership.model.js';
import { exclusions, memberships } from './membership-store.js';
import { db, withLocks } from '../platform/db/index.js';
import { netWins, reconcile, type ReconcileOutcome, type Scope } from './reconcile.js';
import { currentMembershipOf, heldRemovalsMessage, type CurrentMembership, type SafetyValve } from './policy.js';
import { bumpCounts, markRunning, markSynced } from './group-state.js';
import { changedSince, feedPosition, letGo, recheckUsers } from './changed-meanwhile.js';
import { currentSnapshot } from '../snapshot/directory-snapshot.js';

const PROGRESS_EVERY = 1000;

export interface GroupPlanOptions {
  now: Date;
  actor: string;
  /** The writer's key: memberships it inserted in an interrupted earlier run have their history completed. */
  runKey?: string;
  onProgress?: (done: number) => Promise<void>;
}

export interface GroupPlan {
  group: EvalGroup;
  /** Members before the plan. */
  members: number;
  /** Additions (all of them when planning only). */
  adds: PlannedAdd[];
  addCount: number;
  removes: PlannedRemove[];
  failure?: string;
  evaluated: number;
}

/** The users' filter for one group's candidates: the rule's filter, and active users unless inactive ones count. */
export function candidateFilter(group: EvalGroup, now: Date): Record<string, unknown> {
  const parts: Record<string, unknown>[] = [];
  // A rule that reads the clock evaluates every user: one the filter leaves out now may join later by time alone, and
  // only an evaluation stores that user's next time flip (time-flips.ts).
  const ruleFilter = group.nextChange ? null : (group.compiled?.mongoFilter(now) ?? null);
  if (ruleFilter && Object.keys(ruleFilter).length > 0) parts.push(ruleFilter);
  if (!group.includeInactive) parts.push({ status: 'active' });
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0]! : { $and: parts };
}

/**
 * The group scope: the group's memberships and exclusions, then its candidates from the rule's database filter,
 * then the members the filter did not hand over (they no longer match, became inactive or were deleted).
 */
function groupScope<R>(group: EvalGroup, opts: GroupPlanOptions, settle: (outcome: ReconcileOutcome, plan: GroupPlan) => Promise<R>): Scope<R> {
  const plan: GroupPlan = { group, members: 0, adds: [], addCount: 0, removes: [], evaluated: 0 };
  return {
    kind: 'group',
    now: opts.now,
    actor: opts.actor,
    keepFailedGroups: true,
    async read() {
      const current = new Map<string, CurrentMembership>();
      const own: MembershipDoc[] = [];
      for await (const m of memberships().find({ group: group.id }).batchSize(2000)) {
        current.set(m.externalId, currentMembershipOf(m));
        if (opts.runKey && m.run === opts.runKey) own.push(m);
      }
      const excluded = await exclusionsOf(group.id);
      plan.members = current.size;
      const named = await membersOfNamed(group);
      const ctxFor = (doc: UserDoc) => ({
        actor: opts.actor,
        current: () => current.get(doc._id),
        excluded: () => excluded.has(doc._id),
        memberOf: (g: string) => named.get(g)?.has(doc._id) === true,
      });
      return {
        groups: [group],
        own,
        ownReason: (m) => `matches rule v${m.ruleVersion ?? group.ruleVersion}`,
        async feed(planner, flush) {
          if (!group.compiled) return;
          const unseen = new Set(current.keys());
          for await (const doc of usersCollection().find(candidateFilter(group, opts.now)).batchSize(2000)) {
            planner.user(doc, ctxFor(doc));
            unseen.delete(doc._id);
            plan.evaluated++;
            await flush();
            if (opts.onProgress && plan.evaluated % PROGRESS_EVERY === 0) await opts.onProgress(plan.evaluated);
          }
          const rest = [...unseen];
          const found = await readUsers(rest);
          for (const id of rest) {
            const doc = found.get(id);
            if (doc) planner.user(doc, ctxFor(doc));
            else planner.deletedUser(id, new Map([[group.id, current.get(id)!]]), opts.actor, new Map([[group.id, group.ruleVersion]]));
            plan.evaluated++;
          }
        },
      };
    },
    valveSizes: async () => new Map([[group.id, { members: plan.members, size: plan.members }]]),
    async settle(outcome) {
      plan.addCount = outcome.planned.get(group.id) ?? 0;
      plan.adds = outcome.adds;
      plan.removes = outcome.removes;
      const failure = outcome.failures.get(group.id);
      if (failure) plan.failure = failure;
      return settle(outcome, plan);
    },
  };
}

/** What a sync of the group would do, from the collections, writing nothing. */
export async function planGroup(group: EvalGroup, opts: GroupPlanOptions): Promise<GroupPlan> {
  return reconcile(
    groupScope(group, opts, async (_outcome, plan) => plan),
    { write: null, valve: NO_VALVE },
  );
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

/** Syncs of one group wait for each other, across processes, at most this long (a large group's sync takes seconds). */
const SYNC_WAIT_MS = 10 * 60_000;
const syncLock = (groupId: string) => `group-sync-run:${groupId}`;

/**
 * One group's sync. Syncs of one group run one at a time across every worker (a lease): two at once each read
 * the memberships before the other wrote, and a sync of an older rule version finishing last would leave its
 * members behind. A sync whose group got a new rule version while it ran runs again with it, so whichever sync
 * finishes last has evaluated the current rule.
 */
export async function syncGroup(groupId: string, opts: GroupSyncOptions): Promise<GroupSyncResult> {
  return withLocks([syncLock(groupId)], async () => {
    for (;;) {
      const result = await syncGroupOnce(groupId, opts);
      const now = await GroupModel.findById(groupId, { ruleVersion: 1 }).lean<Pick<GroupDoc, 'ruleVersion'>>();
      if (!now || result.ruleVersion === undefined || now.ruleVersion === result.ruleVersion) {
        const { ruleVersion: _evaluated, ...shown } = result;
        return shown;
      }
    }
  }, { waitMs: SYNC_WAIT_MS });
}

async function syncGroupOnce(groupId: string, opts: GroupSyncOptions): Promise<GroupSyncResult & { ruleVersion?: number }> {
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
  const scope = groupScope(
    group,
    { now: opts.at, actor: opts.actor, runKey: opts.jobId, onProgress: async (done) => opts.progress?.(Math.min(done, total), total) },
    async (outcome, plan) => {
      // Counts and state: the group's exact size, and why it failed if it did.
      const held = outcome.held.get(groupId) ?? 0;
      const removes = plan.removes.length;
      const memberCount = plan.members + plan.addCount - removes;
      // The count moves by what this sync's own writes won (netWins): a count set from what the sync read would undo
      // the counts of writes that landed meanwhile, in any process.
      const changed = plan.addCount > 0 || removes > 0 || (outcome.created.get(groupId) ?? 0) > 0 || (outcome.deleted.get(groupId) ?? 0) > 0;
      if (changed) await bumpCounts(new Map([[groupId, netWins(outcome).get(groupId) ?? 0]]), opts.at);
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
        removed: removes,
        ...(held ? { heldRemovals: held } : {}),
        memberCount,
        ...(plan.failure ? { error: plan.failure } : {}),
      };
    },
  );
  const ctx = { runKey: opts.jobId, at: opts.at, ...(opts.metrics ? { metrics: opts.metrics } : {}) };
  const position = await feedPosition(opts.jobId);
  const result = await reconcile(scope, { write: ctx, valve: opts.valve, confirmRemovals: opts.confirmRemovals });
  // Users changed while it ran: evaluated again, now that its writes are done (changed-meanwhile.ts); their
  // reactions count what they change.
  const changed = await changedSince(position);
  await recheckUsers(changed.users, { actor: opts.actor, valve: opts.valve, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
  await letGo(opts.jobId);
  return { ...result, ruleVersion: group.ruleVersion };
}

export interface PreviewResult {
  toAdd: number;
  toRemove: number;
  sampleAdd: string[];
  sampleRemove: string[];
  /** For a preview at a later instant: how many of toAdd and toRemove are users time alone moves before it. */
  flipsBefore?: number;
}

const SAMPLE = 10;

/**
 * What a sync would do with the stored or a proposed rule at `now`, changing nothing. Given `from` (the present,
 * when `now` is later), the plan is also made at `from`, and `flipsBefore` counts the changes only the later
 * instant has: the users time alone moves before it.
 */
export async function previewGroup(doc: GroupDoc, rule: RuleDocument | undefined, now: Date, from?: Date): Promise<PreviewResult & { error?: string }> {
  const group = toEvalGroup(doc, rule);
  const plan = await planFromSnapshot(group, now);
  const sample = (ids: string[]) => ids.sort().slice(0, SAMPLE);
  let flipsBefore: number | undefined;
  if (from) {
    flipsBefore = 0;
    if (group.nextChange) {
      const present = await planFromSnapshot(group, from);
      const addsNow = new Set(present.adds.map((a) => a.externalId));
      const removesNow = new Set(present.removes.map((r) => r.externalId));
      flipsBefore = plan.adds.filter((a) => !addsNow.has(a.externalId)).length + plan.removes.filter((r) => !removesNow.has(r.externalId)).length;
    }
  }
  return {
    toAdd: plan.adds.length,
    toRemove: plan.removes.length,
    sampleAdd: sample(plan.adds.map((a) => a.externalId)),
    sampleRemove: sample(plan.removes.map((r) => r.externalId)),
    ...(flipsBefore !== undefined ? { flipsBefore } : {}),
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
  const scope: Scope<SnapshotPlan> = {
    kind: 'preview',
    now,
    actor: 'preview',
    keepFailedGroups: true,
    async read() {
      const [snap, excluded] = await Promise.all([currentSnapshot(), exclusionsOf(group.id)]);
      const current = snap.members.get(group.id) ?? new Map<string, CurrentMembership>();
      return {
        groups: [group],
        async feed(planner) {
          if (!group.compiled) return;
          for (const [externalId, user] of snap.users) {
            const membership = current.get(externalId);
            const ctx = {
              actor: 'preview',
              current: () => membership,
              excluded: () => excluded.has(externalId),
              memberOf: (g: string) => snap.members.get(g)?.has(externalId) === true,
            };
            const facts = () => {
              if ('unreadable' in user) throw new Error(user.unreadable);
              return user;
            };
            planner.evaluate(externalId, { active: user.status === 'active', staff: user.type === 'staff' }, facts, ctx);
          }
          for (const [externalId, membership] of current) {
            if (!snap.users.has(externalId)) planner.deletedUser(externalId, new Map([[group.id, membership]]), 'preview', new Map([[group.id, group.ruleVersion]]));
          }
        },
      };
    },
    valveSizes: async () => new Map(),
    async settle({ adds, removes, failures }) {
      const failure = failures.get(group.id);
      return failure ? { adds, removes: [], failure } : { adds, removes };
    },
  };
  return reconcile(scope, { write: null, valve: NO_VALVE });
}

/** Planning only: the valve weighs nothing (a plan shows every removal a sync would consider). */
const NO_VALVE: SafetyValve = { share: 1, minMembers: Number.MAX_SAFE_INTEGER };

/** The members of each group the rule names (`memberOf`), for a scope that reads only its own group's memberships. */
async function membersOfNamed(group: EvalGroup): Promise<Map<string, Set<string>>> {
  const named = new Map<string, Set<string>>();
  for (const g of group.compiled?.uses.groups ?? []) {
    const members = new Set<string>();
    for await (const m of memberships().find({ group: g }, { projection: { externalId: 1 } }).batchSize(5000)) members.add(m.externalId);
    named.set(g, members);
  }
  return named;
}

async function exclusionsOf(groupId: string): Promise<Set<string>> {
  const excluded = new Set<string>();
  for await (const e of exclusions().find({ group: groupId }, { projection: { externalId: 1 } })) excluded.add(e.externalId);
  return excluded;
}
