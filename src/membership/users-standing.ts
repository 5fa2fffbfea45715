// What a scope of named users reads before they are evaluated: every membership of theirs (a rule may name any
// group, `memberOf`, so none is left out) and their exclusions. Read by user, one indexed equality each, where a
// lookup per (group, user) pair cost a round trip per group. Directory changes, cascades and time flips read it alike.
import { db } from '../platform/db/index.js';
import { exclusions, memberships } from './membership-store.js';
import { membershipId, type MembershipDoc } from './membership.model.js';
import { currentMembershipOf, type CurrentMembership } from './policy.js';

export interface UsersStanding {
  /** The user's membership of the group, as the policy weighs it. */
  current(groupId: string, externalId: string): CurrentMembership | undefined;
  excluded(groupId: string, externalId: string): boolean;
}

/** Memberships of `memberUsers` and exclusions of `excludedUsers` (the same users when absent). */
export async function readUsersStanding(memberUsers: readonly string[], excludedUsers: readonly string[] = memberUsers): Promise<UsersStanding> {
  const [found, excluded] = await Promise.all([
    db().readWhereIn(memberships(), 'externalId', memberUsers),
    db().readWhereIn(exclusions(), 'externalId', excludedUsers, { projection: { _id: 1 } }),
  ]);
  const byId = new Map<string, MembershipDoc>(found.map((m) => [m._id, m]));
  const out = new Set(excluded.map((e) => e._id));
  return {
    current(groupId, externalId) {
      const m = byId.get(membershipId(groupId, externalId));
      return m ? currentMembershipOf(m) : undefined;
    },
    excluded: (groupId, externalId) => out.has(membershipId(groupId, externalId)),
  };
}
