// Adding many users to one group at once, as the CSV association upload and the copy do: the same checks as a
// member added by hand (members.service.ts addMember: an excluded user is never added; an inactive user is not
// added to an automatic group that leaves inactive users out), written through the membership store with the
// caller's source. On an automatic group these members then stay or leave at a sync by the group's manualMembers
// policy (policy.ts), as hand-added members do.
//
// Reads are done once for the whole list, not per row or per chunk: the callers read the users themselves (in one
// read through the database adapter, which picks point lookups or one scan), and `readStanding` reads the group's
// memberships and exclusions among them, by `_id` when the list is small beside the group, else by streaming the
// group's own documents (a top-level equality on `group`, which an index serves on both databases).
import type { Collection, Document } from 'mongodb';
import { db } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import type { GroupDoc } from '../groups/group.model.js';
import { membershipId, type MembershipSource } from './membership.model.js';
import * as store from './membership-store.js';
import { exclusions, memberships } from './membership-store.js';
import { bumpCounts, readMemberCounts } from './group-state.js';

/** Users written per call to the membership store (and per progress step of a job). */
export const BULK_CHUNK = 1000;
/** A point lookup costs about as much as reading this many of the group's documents in a stream. */
const LOOKUP_COST_IN_STREAMED_DOCS = 3;

export interface BulkAddContext {
  source: MembershipSource;
  /** The history entry's reason. */
  reason: string;
  actor: string;
  /** The membership store's writer key and instant: fixed for a job, so that its re-run writes the same documents. */
  runKey: string;
  at: Date;
  metrics?: Metrics;
}

/** A user as the checks need them. */
export interface UserStatus {
  _id: string;
  status: string;
}

/** The group's memberships and exclusions among the users of a bulk add. */
export interface GroupStanding {
  members: Map<string, { run?: string; addedAt: Date }>;
  excluded: Set<string>;
}

/** What became of each user asked for. */
export interface BulkAddOutcome {
  added: Set<string>;
  /** Already members (with any source), including those another writer added meanwhile. */
  unchanged: Set<string>;
  excluded: Set<string>;
  /** Inactive, and the group is automatic without includeInactive. */
  inactive: Set<string>;
}

export function emptyOutcome(): BulkAddOutcome {
  return { added: new Set(), unchanged: new Set(), excluded: new Set(), inactive: new Set() };
}

/** The documents of `coll` (memberships or exclusions) for these users of the group, by externalId. */
async function readAmong<T extends Document & { _id: string; externalId: string }>(
  coll: Collection<T>,
  groupId: string,
  externalIds: readonly string[],
  groupSize: number,
  projection: Document,
): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  if (externalIds.length === 0) return out;
  if (externalIds.length * LOOKUP_COST_IN_STREAMED_DOCS < groupSize) {
    const found = await db().readByIds(coll, externalIds.map((e) => membershipId(groupId, e)), { projection: { ...projection, externalId: 1 } });
    for (const doc of found.values()) out.set(doc.externalId, doc);
    return out;
  }
  const wanted = new Set(externalIds);
  for await (const doc of coll.find({ group: groupId } as never, { projection: { ...projection, externalId: 1 }, batchSize: 2000 })) {
    if (wanted.has((doc as T).externalId)) out.set((doc as T).externalId, doc as T);
  }
  return out;
}

/** The group's memberships and exclusions among `externalIds`, read once for the whole bulk add. */
export async function readStanding(groupId: string, externalIds: readonly string[]): Promise<GroupStanding> {
  const size = (await readMemberCounts([groupId])).get(groupId) ?? 0;
  const [members, excluded] = await Promise.all([
    readAmong(memberships(), groupId, externalIds, size, { _id: 1, run: 1, addedAt: 1 }),
    // A group's exclusions are few: its own are streamed (size 0 never favours lookups).
    readAmong(exclusions(), groupId, externalIds, 0, { _id: 1 }),
  ]);
  return { members, excluded: new Set(excluded.keys()) };
}

/**
 * Adds the users (distinct, at most BULK_CHUNK: callers chunk) to the group, recording each one's fate in
 * `outcome`. The group's member count moves by what this call created.
 */
export async function addUsersToGroup(group: GroupDoc, users: readonly UserStatus[], standing: GroupStanding, ctx: BulkAddContext, outcome: BulkAddOutcome): Promise<void> {
  const leavesInactiveOut = group.type === 'automatic' && !group.includeInactive;
  const toAdd: string[] = [];
  for (const user of users) {
    const member = standing.members.get(user._id);
    // A membership this very writer inserted in an interrupted earlier run goes to the store again, which completes
    // its history (membership-store.ts); it counts as added by this run.
    if (member && member.run === ctx.runKey && member.addedAt.getTime() === ctx.at.getTime()) toAdd.push(user._id);
    else if (member) outcome.unchanged.add(user._id);
    else if (standing.excluded.has(user._id)) outcome.excluded.add(user._id);
    else if (leavesInactiveOut && user.status !== 'active') outcome.inactive.add(user._id);
    else toAdd.push(user._id);
  }
  if (toAdd.length === 0) return;
  const created = await store.addMemberships(
    toAdd.map((externalId) => ({ groupId: group._id, externalId, source: ctx.source, ruleVersion: group.ruleVersion, reason: ctx.reason, actor: ctx.actor })),
    { runKey: ctx.runKey, at: ctx.at, ...(ctx.metrics ? { metrics: ctx.metrics } : {}) },
  );
  const n = created.get(group._id) ?? 0;
  if (n) await bumpCounts(new Map([[group._id, n]]), ctx.at);
  const ownEarlier = toAdd.filter((e) => standing.members.has(e)).length;
  if (n + ownEarlier === toAdd.length) {
    for (const e of toAdd) outcome.added.add(e);
    return;
  }
  // Some were added by another writer since the standing was read: which ones is in the stored documents' run key.
  const stored = await db().readByIds(memberships(), toAdd.map((e) => membershipId(group._id, e)), { projection: { _id: 1, run: 1, addedAt: 1 } });
  for (const e of toAdd) {
    const doc = stored.get(membershipId(group._id, e));
    const mine = doc?.run === ctx.runKey && doc.addedAt.getTime() === ctx.at.getTime();
    (mine ? outcome.added : outcome.unchanged).add(e);
  }
}

/** Adds every user, BULK_CHUNK at a time, after reading the group's standing once; `progress(done, total)` after each chunk. */
export async function addAllToGroup(
  group: GroupDoc,
  users: readonly UserStatus[],
  ctx: BulkAddContext,
  progress?: (done: number, total: number) => Promise<void>,
): Promise<BulkAddOutcome> {
  const outcome = emptyOutcome();
  const standing = await readStanding(group._id, users.map((u) => u._id));
  for (let i = 0; i < users.length; i += BULK_CHUNK) {
    await addUsersToGroup(group, users.slice(i, i + BULK_CHUNK), standing, ctx, outcome);
    await progress?.(Math.min(i + BULK_CHUNK, users.length), users.length);
  }
  return outcome;
}
