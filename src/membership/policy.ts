// The membership policy as pure functions: who should be in an automatic group, and whether a sync may remove what
// it found. Every path that moves membership (a directory change, a group sync, a partition of the full sync,
// the preview) decides through `decide`, so that they cannot disagree.
import type { ManualMemberPolicy } from '../groups/group.model.js';
import type { MembershipDoc, MembershipSource } from './membership.model.js';
import { USER_DELETED } from './change-reasons.js';

export interface GroupPolicy {
  ruleVersion: number;
  includeInactive: boolean;
  manualMembers: ManualMemberPolicy;
  /**
   * A group kept by something other than a rule (a course's class group sync): the source its own additions carry
   * and the reasons history gives. Absent: the rule's (`rule`, "matches rule vN").
   */
  own?: OwnSource;
}

export interface OwnSource {
  source: MembershipSource;
  /** Why a member joins. */
  added: string;
  /** Why a member it added leaves when no longer selected. */
  left: string;
}

/** The user as the policy sees it; null when the user no longer exists. */
export interface UserStanding {
  active: boolean;
  staff: boolean;
}

export interface CurrentMembership {
  source: MembershipSource;
  addedAt: Date;
  ruleVersion?: number;
  run?: string;
}

/** A stored membership as the policy weighs it. */
export const currentMembershipOf = (m: MembershipDoc): CurrentMembership => ({
  source: m.source,
  addedAt: m.addedAt,
  ...(m.ruleVersion !== undefined ? { ruleVersion: m.ruleVersion } : {}),
});

export type Decision =
  | { action: 'stay' }
  | { action: 'none' }
  | { action: 'add'; reason: string; byRule?: true }
  | { action: 'remove'; reason: string; byRule?: true };

const STAY: Decision = { action: 'stay' };
const NONE: Decision = { action: 'none' };

/**
 * What should happen to one user's membership of one automatic group.
 *
 * - A deleted user leaves. An excluded user is never a member (exclusions win over everything).
 * - Inactive users are not members unless the group includes inactive users, whatever their source.
 * - A user the rule selects is a member; one already in with another source keeps that source.
 * - A member the rule no longer selects leaves if the rule (or the group's own source, `own`) added them; one added another way (by hand, key,
 *   default or CSV) stays or leaves by the group's `manualMembers` policy: `remove` (leaves), `keep` (stays),
 *   `keep-staff` (staff stay, learners leave).
 */
export function decide(
  group: GroupPolicy,
  user: UserStanding | null,
  matches: boolean,
  current: CurrentMembership | undefined,
  excluded: boolean,
): Decision {
  if (!user) return current ? { action: 'remove', reason: USER_DELETED } : NONE;
  if (excluded) return current ? { action: 'remove', reason: 'excluded from the group' } : NONE;
  const eligible = user.active || group.includeInactive;
  if (!eligible) return current ? { action: 'remove', reason: 'user is inactive' } : NONE;
  if (matches) return current ? STAY : { action: 'add', reason: group.own?.added ?? `matches rule v${group.ruleVersion}`, byRule: true };
  if (!current) return NONE;
  if (current.source === (group.own?.source ?? 'rule')) return { action: 'remove', reason: group.own?.left ?? `no longer matches rule v${group.ruleVersion}`, byRule: true };
  switch (group.manualMembers) {
    case 'keep':
      return STAY;
    case 'keep-staff':
      return user.staff ? STAY : { action: 'remove', reason: `added by ${current.source}, not staff, and manualMembers is keep-staff` };
    case 'remove':
      return { action: 'remove', reason: `added by ${current.source}, does not match rule v${group.ruleVersion}, and manualMembers is remove` };
  }
}

export interface SafetyValve {
  /** Largest share of a group's members one evaluation may remove. */
  share: number;
  /** Groups with at most this many members are exempt. */
  minMembers: number;
}

/**
 * Whether removals must be held: more than `share` of the members at once, in a group above the minimum size.
 * `members` is what the removals are measured against (the group, or the slice of it a partition sees).
 */
export function mustHoldRemovals(valve: SafetyValve, members: number, groupSize: number, removals: number): boolean {
  if (removals === 0 || groupSize <= valve.minMembers) return false;
  return removals > valve.share * members;
}

export function heldRemovalsMessage(valve: SafetyValve, removals: number, members: number): string {
  const pct = members > 0 ? Math.round((removals / members) * 100) : 100;
  return (
    `Safety valve: this sync would remove ${removals} of ${members} members (${pct}%), more than the ${Math.round(valve.share * 100)}% ` +
    'allowed at once; additions were applied and the removals are held. Check the directory feed, then confirm with ' +
    'POST /api/v1/groups/{id}/sync {"confirmRemovals": true}.'
  );
}
