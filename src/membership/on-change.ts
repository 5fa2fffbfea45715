// Directory changes → membership, before the write request answers. Each changed user is re-evaluated only against
// the active automatic groups the change can affect (what the rule reads, plus status and type for the policies);
// a deleted user leaves every group. Reads are by `_id`, as the database adapter finds cheapest.
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { DirectoryChange } from '../directory/directory-events.js';
import type { UserDoc } from '../directory/user.model.js';
import { usersCollection } from '../directory/user-store.js';
import { db } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import { loadGroups, type EvalGroup } from './active-groups.js';
import { Planner, type PlannedRemove } from './planner.js';
import { changeAffects } from './rule-reads.js';
import { ExclusionModel, membershipId, type ExclusionDoc, type MembershipDoc } from './membership.model.js';
import { memberships, addMemberships, removeMemberships } from './membership-store.js';
import { currentMembershipOf, heldRemovalsMessage, mustHoldRemovals, type CurrentMembership, type SafetyValve } from './policy.js';
import { bumpCounts, markFailed, readGroupStates } from './group-state.js';

export interface ChangeDeps {
  valve: SafetyValve;
  metrics?: Metrics;
  /** The writer's key and instant; fixed per journaled write, so that its replay writes the same documents. */
  runKey?: string;
  at?: Date;
}

export interface ChangeOutcome {
  users: number;
  added: number;
  removed: number;
  held: Record<string, number>;
  failed: Record<string, string>;
}

interface Changed {
  externalId: string;
  created: boolean;
  paths: Set<string>;
  actor: string;
}

function collapse(changes: readonly DirectoryChange[]): Map<string, Changed> {
  const byUser = new Map<string, Changed>();
  for (const c of changes) {
    let entry = byUser.get(c.externalId);
    if (!entry) byUser.set(c.externalId, (entry = { externalId: c.externalId, created: false, paths: new Set(), actor: c.actor }));
    entry.actor = c.actor;
    if (c.kind === 'user.created') entry.created = true;
    for (const p of c.changed) entry.paths.add(p);
  }
  return byUser;
}

export async function readUsers(ids: readonly string[]): Promise<Map<string, UserDoc>> {
  return db().readByIds(usersCollection(), ids);
}

/** Current memberships for (group, user) pairs. */
async function readMemberships(pairs: ReadonlyArray<[string, string]>): Promise<Map<string, MembershipDoc>> {
  return db().readByIds(memberships(), pairs.map(([g, u]) => membershipId(g, u)));
}

async function readExclusions(users: readonly string[]): Promise<Set<string>> {
  const coll = ExclusionModel.collection as unknown as Collection<ExclusionDoc>;
  return new Set((await db().readWhereIn(coll, 'externalId', users, { projection: { _id: 1 } })).map((e) => e._id));
}


/**
 * A fault to inject, for tests only: the next `failures` reactions throw before writing anything, as a database
 * that fails mid-request would make them. Nothing in the service sets it.
 */
export const reactionFaults = { failures: 0 };

export async function applyDirectoryChanges(changes: readonly DirectoryChange[], deps: ChangeDeps): Promise<ChangeOutcome> {
  if (reactionFaults.failures > 0) {
    reactionFaults.failures--;
    throw new Error('injected fault: the membership reaction failed');
  }
  const byUser = collapse(changes);
  const outcome: ChangeOutcome = { users: byUser.size, added: 0, removed: 0, held: {}, failed: {} };
  if (byUser.size === 0) return outcome;
  const now = deps.at ?? new Date();
  const [{ active: groups, versions }, users] = await Promise.all([loadGroups(), readUsers([...byUser.keys()])]);
  const allGroups = [...versions.keys()].map((_id) => ({ _id }));

  // Which groups each user is evaluated against; which (group, user) pairs must be read.
  const affected = new Map<string, Set<string>>();
  const touched = new Set<string>();
  const pairs: Array<[string, string]> = [];
  for (const change of byUser.values()) {
    const user = users.get(change.externalId);
    if (!user) {
      for (const g of allGroups) pairs.push([g._id, change.externalId]);
      continue;
    }
    const set = new Set<string>();
    for (const g of groups) {
      if (change.created || changeAffects(g.reads, g, [...change.paths])) {
        set.add(g.id);
        touched.add(g.id);
        // A new user has no memberships yet: nothing to read, an insert that finds one is a no-op.
        if (!change.created) pairs.push([g.id, change.externalId]);
      }
    }
    affected.set(change.externalId, set);
  }
  const evaluatedIds = [...affected.keys()].filter((id) => affected.get(id)!.size > 0);
  const [current, excluded] = await Promise.all([
    readMemberships(pairs),
    evaluatedIds.length ? readExclusions(evaluatedIds) : Promise.resolve(new Set<string>()),
  ]);

  const planner = new Planner(groups, now);
  for (const change of byUser.values()) {
    const user = users.get(change.externalId);
    if (!user) {
      const mine = new Map<string, CurrentMembership>();
      for (const g of allGroups) {
        const m = current.get(membershipId(g._id, change.externalId));
        if (m) mine.set(g._id, currentMembershipOf(m));
      }
      planner.deletedUser(change.externalId, mine, change.actor, versions);
      continue;
    }
    const only = affected.get(change.externalId)!;
    if (only.size === 0) continue;
    planner.user(user, {
      actor: change.actor,
      only: (g: EvalGroup) => only.has(g.id),
      current: (g) => {
        const m = current.get(membershipId(g, change.externalId));
        return m ? currentMembershipOf(m) : undefined;
      },
      excluded: (g) => excluded.has(membershipId(g, change.externalId)),
    });
  }

  const removes = await holdExcessRemovals(planner.takeRemoves(), deps.valve, outcome);
  const ctx = { runKey: deps.runKey ?? `change:${randomUUID()}`, at: now, ...(deps.metrics ? { metrics: deps.metrics } : {}) };
  const added = await addMemberships(planner.takeAdds(), ctx);
  const removed = await removeMemberships(removes, ctx);
  const deltas = new Map<string, number>();
  for (const [g, n] of added) {
    if (n > 0) deltas.set(g, (deltas.get(g) ?? 0) + n);
    outcome.added += n;
  }
  for (const [g, n] of removed) {
    if (n > 0) deltas.set(g, (deltas.get(g) ?? 0) - n);
    outcome.removed += n;
  }
  await bumpCounts(deltas, now);

  for (const [groupId, message] of planner.failures()) {
    if (!touched.has(groupId)) continue;
    outcome.failed[groupId] = message;
    await markFailed(groupId, message);
  }
  return outcome;
}

/**
 * The safety valve, for a change as for a sync: a batch that would take more than the allowed share out of a
 * group at once (a truncated or emptied HR feed) leaves those members in and marks the group failed until an admin
 * confirms with a group sync. Users who were deleted leave regardless.
 */
async function holdExcessRemovals(removes: PlannedRemove[], valve: SafetyValve, outcome: ChangeOutcome): Promise<PlannedRemove[]> {
  const perGroup = new Map<string, number>();
  for (const r of removes) if (r.reason !== 'user deleted') perGroup.set(r.groupId, (perGroup.get(r.groupId) ?? 0) + 1);
  const candidates = [...perGroup].filter(([, n]) => n > 1);
  if (candidates.length === 0) return removes;
  const states = await readGroupStates(candidates.map(([g]) => g));
  const held = new Set<string>();
  for (const [groupId, n] of candidates) {
    const members = states.get(groupId)?.counts?.memberCount ?? 0;
    if (mustHoldRemovals(valve, members, members, n)) {
      held.add(groupId);
      outcome.held[groupId] = n;
      await markFailed(groupId, heldRemovalsMessage(valve, n, members), n);
    }
  }
  return held.size ? removes.filter((r) => r.reason === 'user deleted' || !held.has(r.groupId)) : removes;
}
