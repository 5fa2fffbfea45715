// Adding many users to one group at once, as the CSV association upload and the copy do: the same checks as a
// member added by hand (members.service.ts addMember: an excluded user is never added; an inactive user is not
// added to an automatic group that leaves inactive users out), read a chunk at a time (the users, the group's
// memberships and exclusions among them, each in one read through the database adapter), written through the
// membership store with the caller's source. On an automatic group these members then stay or leave at a sync by
// the group's manualMembers policy (policy.ts), as hand-added members do.
import { db } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import type { GroupDoc } from '../groups/group.model.js';
import { readUsersByIds } from '../directory/user-store.js';
import { membershipId, type MembershipSource } from './membership.model.js';
import * as store from './membership-store.js';
import { exclusions, memberships } from './membership-store.js';
import { bumpCounts } from './group-state.js';

/** Users handled per round trip. */
export const BULK_CHUNK = 1000;

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

/** What became of each user asked for. */
export interface BulkAddOutcome {
  added: Set<string>;
  /** Already members (with any source), including those another writer added meanwhile. */
  unchanged: Set<string>;
  /** No such user (deleted, or never there). */
  unknown: Set<string>;
  excluded: Set<string>;
  /** Inactive, and the group is automatic without includeInactive. */
  inactive: Set<string>;
}

export function emptyOutcome(): BulkAddOutcome {
  return { added: new Set(), unchanged: new Set(), unknown: new Set(), excluded: new Set(), inactive: new Set() };
}

/**
 * Adds the users (distinct externalIds, at most BULK_CHUNK of them: callers chunk) to the group, recording each one's
 * fate in `outcome`. The group's member count moves by what this call created.
 */
export async function addUsersToGroup(group: GroupDoc, externalIds: readonly string[], ctx: BulkAddContext, outcome: BulkAddOutcome): Promise<void> {
  if (externalIds.length === 0) return;
  const ids = externalIds.map((e) => membershipId(group._id, e));
  const [{ byId: users }, members, excluded] = await Promise.all([
    readUsersByIds(externalIds, { _id: 1, status: 1 }),
    db().readByIds(memberships(), ids, { projection: { _id: 1, run: 1, addedAt: 1 } }),
    db().readByIds(exclusions(), ids, { projection: { _id: 1 } }),
  ]);
  const leavesInactiveOut = group.type === 'automatic' && !group.includeInactive;
  const toAdd: string[] = [];
  const ownEarlier = (id: string) => {
    const m = members.get(id);
    return m !== undefined && m.run === ctx.runKey && m.addedAt.getTime() === ctx.at.getTime();
  };
  externalIds.forEach((externalId, i) => {
    const user = users.get(externalId);
    // A membership this very writer inserted in an interrupted earlier run goes to the store again, which completes
    // its history (membership-store.ts); it counts as added by this run.
    if (ownEarlier(ids[i]!)) toAdd.push(externalId);
    else if (!user) outcome.unknown.add(externalId);
    else if (members.has(ids[i]!)) outcome.unchanged.add(externalId);
    else if (excluded.has(ids[i]!)) outcome.excluded.add(externalId);
    else if (leavesInactiveOut && user.status !== 'active') outcome.inactive.add(externalId);
    else toAdd.push(externalId);
  });
  if (toAdd.length === 0) return;
  const created = await store.addMemberships(
    toAdd.map((externalId) => ({ groupId: group._id, externalId, source: ctx.source, ruleVersion: group.ruleVersion, reason: ctx.reason, actor: ctx.actor })),
    { runKey: ctx.runKey, at: ctx.at, ...(ctx.metrics ? { metrics: ctx.metrics } : {}) },
  );
  const n = created.get(group._id) ?? 0;
  if (n) await bumpCounts(new Map([[group._id, n]]), ctx.at);
  if (n === toAdd.length) {
    for (const e of toAdd) outcome.added.add(e);
    return;
  }
  // Some were added by another writer meanwhile (or by this job's interrupted earlier run): which ones is in the
  // stored documents' run key.
  const stored = await db().readByIds(memberships(), toAdd.map((e) => membershipId(group._id, e)), { projection: { _id: 1, run: 1, addedAt: 1 } });
  for (const e of toAdd) {
    const doc = stored.get(membershipId(group._id, e));
    const mine = doc?.run === ctx.runKey && doc.addedAt.getTime() === ctx.at.getTime();
    (mine ? outcome.added : outcome.unchanged).add(e);
  }
}
