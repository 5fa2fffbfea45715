// The full reconciliation of every automatic group, split into partitions of the user space that Agenda jobs take
// independently (so that several workers share it). A partition streams its users once and its memberships once,
// evaluates every active automatic group's compiled rule for each user in that one pass, and writes the
// difference in bulk. Partitions are ranges of externalId, fixed once per run in `sync_runs` (the first run of the
// parent job inserts them; a re-run reads them back), so a partition re-run, or run twice at once, covers exactly
// the same users and — writes being idempotent — ends exactly right.
import { readUsers, usersCollection } from '../directory/user-store.js';
import type { Metrics } from '../platform/metrics.js';
import { loadActiveAutomaticGroups, loadGroups } from './active-groups.js';
import { netWins, reconcile, type Scope } from './reconcile.js';
import { changedSince, feedPosition, letGo, recheckUsers } from './changed-meanwhile.js';
import { membershipId, type MembershipDoc } from './membership.model.js';
import { countMembers, exclusions, memberships, removeOrphans } from './membership-store.js';
import { db, isDuplicateKeyError } from '../platform/db/index.js';
import { eachLimited } from '../platform/each-limited.js';
import { currentMembershipOf, heldRemovalsMessage, type CurrentMembership, type SafetyValve } from './policy.js';
import { SyncRunModel, type SyncRunDoc } from './group-state.model.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import { bumpCounts, markRunning, markSynced, readMemberCounts, setCount } from './group-state.js';

const STREAM_BATCH = 2000;
export const MAX_PARTITIONS = 64;
const SAMPLE_PER_PARTITION = 200;
const PROGRESS_EVERY = 1000;
const KEEP_RUNS_MS = 7 * 86_400_000;

/** The parent's first step: the run's partitions, fixed by whichever run of the parent job inserts them first. */
export async function prepareRun(runId: string, requestedPartitions?: number): Promise<SyncRunDoc> {
  const existing = await SyncRunModel.findById(runId).lean<SyncRunDoc>();
  if (existing) return existing;
  const feedAt = await feedPosition(runId);
  await SyncRunModel.collection.deleteMany({ at: { $lt: new Date(Date.now() - KEEP_RUNS_MS) } });

  const estimate = await db().estimateCount(usersCollection());
  // Users per partition, when the caller names no number, is the backend's (how a partition reads its range).
  const partitions = Math.max(1, Math.min(MAX_PARTITIONS, requestedPartitions ?? Math.ceil(estimate / db().usersPerPartition)));
  // Reservoir sample of externalIds: quantiles of the sample are the partition bounds, in bounded memory. One
  // partition needs no bounds, and no reading of the users.
  const size = partitions * SAMPLE_PER_PARTITION;
  const sample: string[] = [];
  let users = estimate;
  if (partitions > 1) {
    users = 0;
    for await (const u of usersCollection().find({}, { projection: { _id: 1 } }).batchSize(STREAM_BATCH)) {
      users++;
      if (sample.length < size) sample.push(u._id);
      else {
        const j = Math.floor(Math.random() * users);
        if (j < size) sample[j] = u._id;
      }
    }
  }
  sample.sort(compareIds);
  const bounds: string[] = [];
  for (let i = 1; i < partitions && sample.length > 0; i++) {
    const b = sample[Math.floor((i * sample.length) / partitions)]!;
    if (bounds.length === 0 || compareIds(b, bounds[bounds.length - 1]!) > 0) bounds.push(b);
  }
  const groups = (await loadActiveAutomaticGroups()).map((g) => g.id);
  const run: SyncRunDoc = { _id: runId, at: new Date(), bounds, users, groups, feedAt };
  try {
    await SyncRunModel.collection.insertOne(run as never);
    return run;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    return (await SyncRunModel.findById(runId).lean<SyncRunDoc>())!;
  }
}

/** Code-unit order, the order both backends compare strings in. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const partitionCount = (run: SyncRunDoc): number => run.bounds.length + 1;

function rangeOf(run: SyncRunDoc, index: number): Record<string, string> {
  const range: Record<string, string> = {};
  if (index > 0) range.$gte = run.bounds[index - 1]!;
  if (index < run.bounds.length) range.$lt = run.bounds[index]!;
  return range;
}

export interface PartitionGroupResult {
  /** Members of the group among this partition's users before and after the partition's writes. */
  before: number;
  members: number;
  added: number;
  removed: number;
  held?: number;
  error?: string;
  /** The rule version this partition evaluated. */
  ruleVersion?: number;
}

export interface PartitionResult {
  partition: number;
  users: number;
  groups: Record<string, PartitionGroupResult>;
  /** Removals from groups the partition does not evaluate (manual or paused): users who were deleted. */
  otherRemoved: Record<string, number>;
  orphansRemoved: number;
  /** Additions and removals in groups whose rule reads the clock: what the time flips should have done already. */
  timeCorrections?: number;
}

export interface PartitionOptions {
  jobId: string;
  actor: string;
  valve: SafetyValve;
  metrics?: Metrics;
  progress?: (done: number, total: number) => Promise<void>;
}

export async function syncPartition(run: SyncRunDoc, index: number, opts: PartitionOptions): Promise<PartitionResult> {
  const ctx = { runKey: opts.jobId, at: run.at, ...(opts.metrics ? { metrics: opts.metrics } : {}) };
  const position = await feedPosition(opts.jobId);
  const result = await reconcile(partitionScope(run, index, opts), { write: ctx, valve: opts.valve });
  // Users of this range changed while it ran: evaluated again, now that its writes are done (changed-meanwhile.ts).
  const range = rangeOf(run, index);
  const covered = [...(await changedSince(position)).users].filter((id) => (range.$gte === undefined || id >= range.$gte) && (range.$lt === undefined || id < range.$lt));
  await recheckUsers(covered, { actor: opts.actor, valve: opts.valve, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
  await letGo(opts.jobId);
  return result;
}

/**
 * The partition scope: its memberships once, the groups (read after them: a membership whose group is gone is an
 * orphan of a deleted group), its exclusions, then its users once against every active automatic group; members
 * the stream did not meet were deleted and leave every group (a user created meanwhile waits for the next sync).
 */
function partitionScope(run: SyncRunDoc, index: number, opts: PartitionOptions): Scope<PartitionResult> {
  const range = rangeOf(run, index);
  const byRange = Object.keys(range).length ? { externalId: range } : {};
  const expected = Math.max(1, Math.round(run.users / partitionCount(run)));
  const inGroup = new Map<string, number>();
  let users = 0;
  let orphans: string[] = [];
  return {
    kind: 'partition',
    now: run.at,
    actor: opts.actor,
    async read() {
      const current = new Map<string, Map<string, CurrentMembership>>();
      const own: MembershipDoc[] = [];
      let streamed = 0;
      for await (const m of memberships().find(byRange).batchSize(STREAM_BATCH)) {
        // A long read is progress too: it keeps the job's lock.
        if (opts.progress && ++streamed % 20_000 === 0) await opts.progress(0, expected);
        let mine = current.get(m.externalId);
        if (!mine) current.set(m.externalId, (mine = new Map()));
        mine.set(m.group, currentMembershipOf(m));
        inGroup.set(m.group, (inGroup.get(m.group) ?? 0) + 1);
        if (m.run === opts.jobId) own.push(m);
      }
      const { active: groups, versions, graph } = await loadGroups();
      orphans = [];
      for (const [externalId, mine] of current) {
        for (const groupId of mine.keys()) {
          if (versions.has(groupId)) continue;
          orphans.push(membershipId(groupId, externalId));
          mine.delete(groupId);
        }
      }
      await removeOrphans(orphans);
      const excluded = new Set<string>();
      for await (const e of exclusions().find(byRange, { projection: { _id: 1 } })) excluded.add(e._id);
      return {
        groups,
        graph,
        own,
        ownReason: (m) => `matches rule v${m.ruleVersion ?? versions.get(m.group) ?? 0}`,
        async feed(planner, flush) {
          for await (const doc of usersCollection().find(byRange.externalId ? { _id: byRange.externalId } : {}).batchSize(STREAM_BATCH)) {
            const mine = current.get(doc._id);
            planner.user(doc, { actor: opts.actor, current: (g) => mine?.get(g), excluded: (g) => excluded.has(`${g}:${doc._id}`) });
            current.delete(doc._id);
            users++;
            await flush();
            if (opts.progress && users % PROGRESS_EVERY === 0) await opts.progress(Math.min(users, expected), Math.max(users, expected));
          }
          const rest = [...current.keys()];
          const found = await readUsers(rest);
          for (const id of rest) if (!found.has(id)) planner.deletedUser(id, current.get(id)!, opts.actor, versions);
        },
      };
    },
    async valveSizes(groupIds) {
      // Weighed against the members this partition holds, and the group's stored size where it is larger.
      const stored = await readMemberCounts(groupIds);
      return new Map(groupIds.map((g) => [g, { members: inGroup.get(g) ?? 0, size: Math.max(stored.get(g) ?? 0, inGroup.get(g) ?? 0) }]));
    },
    async settle(outcome) {
      // Each group's count moves by what this partition's own writes won (netWins), as every writer's does: a count
      // the run derived at its end from what its partitions read would undo the counts of writes landing meanwhile.
      const won = new Map([...netWins(outcome)].filter(([, n]) => n !== 0));
      if (won.size) await bumpCounts(won, run.at);
      const active = new Set(outcome.groups.map((g) => g.id));
      const removedByGroup = new Map<string, number>();
      for (const r of outcome.removes) removedByGroup.set(r.groupId, (removedByGroup.get(r.groupId) ?? 0) + 1);
      const result: PartitionResult = { partition: index, users, groups: {}, otherRemoved: {}, orphansRemoved: orphans.length, timeCorrections: 0 };
      for (const g of outcome.groups) {
        const added = outcome.planned.get(g.id) ?? 0;
        const removed = removedByGroup.get(g.id) ?? 0;
        const before = inGroup.get(g.id) ?? 0;
        const entry: PartitionGroupResult = { before, members: before + added - removed, added, removed, ruleVersion: g.ruleVersion };
        if (g.nextChange) result.timeCorrections! += added + removed;
        const n = outcome.held.get(g.id);
        if (n) entry.held = n;
        const failure = outcome.failures.get(g.id);
        if (failure) entry.error = failure;
        result.groups[g.id] = entry;
      }
      for (const [groupId, n] of removedByGroup) if (!active.has(groupId)) result.otherRemoved[groupId] = n;
      await opts.progress?.(users, users);
      return result;
    },
  };
}

export interface FullSyncResult {
  partitions: number;
  users: number;
  groups: number;
  added: number;
  removed: number;
  held: Record<string, number>;
  failed: Record<string, string>;
  failedPartitions: number[];
  /**
   * Groups whose rule changed while the run went on (a partition evaluated another version than the group has now):
   * neither counted nor marked synced by the run; the caller syncs each again with its current rule.
   */
  stale: string[];
  /**
   * The safety net's count for time-based rules: users the run added to or removed from groups whose rule reads the
   * clock. The time flips move those users at their instant, so this is 0 unless a flip was missed (or the data
   * changed behind the API).
   */
  timeCorrections: number;
}

/** The parent's last step: each group's state and exact member count from the partitions' results. */
export async function finishRun(run: SyncRunDoc, results: ReadonlyArray<PartitionResult | null>, valve: SafetyValve): Promise<FullSyncResult> {
  const out: FullSyncResult = { partitions: results.length, users: 0, groups: run.groups.length, added: 0, removed: 0, held: {}, failed: {}, failedPartitions: [], stale: [], timeCorrections: 0 };
  const versionsNow = new Map(
    (await GroupModel.find({ _id: { $in: run.groups } }, { ruleVersion: 1 }).lean<Array<Pick<GroupDoc, '_id' | 'ruleVersion'>>>()).map((g) => [g._id, g.ruleVersion]),
  );
  results.forEach((r, i) => {
    if (!r) out.failedPartitions.push(i);
    else {
      out.users += r.users;
      out.timeCorrections += r.timeCorrections ?? 0;
    }
  });
  // Groups the run does not evaluate (manual, paused) that deleted users left: counted again, not adjusted, so that
  // finishing the run twice (its last two partitions ending at once) leaves the same count.
  const others = new Set<string>();
  for (const r of results) for (const [g, n] of Object.entries(r?.otherRemoved ?? {})) if (n > 0) others.add(g);
  await eachLimited([...others], 8, async (groupId) => setCount(groupId, await countMembers(groupId), run.at));

  // Groups whose membership something changed while the run went on (a run that predates feedAt knows none).
  const moved = run.feedAt === undefined ? new Set<string>() : (await changedSince(run.feedAt)).groups;
  // Each group's count and state are independent writes: a few at a time.
  await eachLimited(run.groups, 8, async (groupId) => {
    const entries = results.map((r) => r?.groups[groupId]);
    let before = 0;
    let members = 0;
    let added = 0;
    let removed = 0;
    let held = 0;
    let error: string | undefined;
    for (const e of entries) {
      if (!e) continue;
      before += e.before;
      members += e.members;
      added += e.added;
      removed += e.removed;
      held += e.held ?? 0;
      error ??= e.error;
    }
    out.added += added;
    out.removed += removed;
    // A partition that evaluated an older rule may have written after that rule's successor was synced.
    if (entries.some((e) => e?.ruleVersion !== undefined && e.ruleVersion !== versionsNow.get(groupId))) {
      if (versionsNow.has(groupId)) out.stale.push(groupId);
      return;
    }
    const complete = entries.every((e) => e !== undefined);
    // Only a run that covered every partition for the group knows its exact size.
    // A group nothing changed while the run went on gets the exact count the partitions read (which also puts right
    // a count that drifted); one that something changed has been counted by every writer, the partitions included.
    if (complete && !moved.has(groupId)) await setCount(groupId, members, added + removed > 0 ? run.at : undefined);
    if (held) out.held[groupId] = held;
    const failure = !complete && out.failedPartitions.length
      ? { message: `the full sync did not finish partitions ${out.failedPartitions.join(', ')}; run it again` }
      : error
        ? { message: error }
        : held
          ? { message: heldRemovalsMessage(valve, held, before), heldRemovals: held }
          : undefined;
    if (failure) out.failed[groupId] = failure.message;
    if (complete || failure) await markSynced(groupId, run.at, failure);
  });
  if (run.feedAt !== undefined) await letGo(run._id);
  return out;
}

export async function markRunStarted(run: SyncRunDoc, jobId: string): Promise<void> {
  for (const g of run.groups) await markRunning(g, jobId);
}
