// What a directory change changed that a group's rule reads, in words: history's reason for a rule's decision then
// says why ("no longer matches rule v3: department changed to Ops"), not only that the rule decided.
import type { UserDoc } from '../directory/user.model.js';
import type { RuleReads } from './rule-reads.js';

const shown = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));

/** One changed path of the stored user, as the change left it. */
function describePath(user: UserDoc, path: string): string {
  if (path.startsWith('fields.')) {
    const key = path.slice('fields.'.length);
    const value = user.fields?.[key];
    return value === undefined ? `${key} removed` : `${key} changed to ${shown(value)}`;
  }
  if (path.startsWith('enrollments.')) {
    const course = path.slice('enrollments.'.length);
    const enrollment = user.enrollments?.[course];
    return enrollment ? `enrolment in ${course} changed to ${enrollment.status}` : `enrolment in ${course} removed`;
  }
  const value = (user as unknown as Record<string, unknown>)[path];
  return value === undefined || value === null ? `${path} removed` : `${path} changed to ${shown(value)}`;
}

/**
 * The reason of a removal because the user was deleted. Such a removal is nobody's move out of a group: it does not
 * count against the safety valve, is never held, and is not followed by the groups that name the group.
 */
export const USER_DELETED = 'user deleted';

export function isUserDeletion(change: { reason: string }): boolean {
  return change.reason === USER_DELETED;
}

/** A named group's change that a rule's decision followed (`memberOf`), in words: "joined VIP", "left Contractors". */
export function membershipReason(joined: boolean, groupName: string): string {
  return `${joined ? 'joined' : 'left'} ${groupName}`;
}

/** The changed paths this rule reads, in words, or undefined when it reads none of them (or nothing changed). */
export function changeReason(user: UserDoc, changed: Iterable<string>, reads: RuleReads): string | undefined {
  const parts = new Set<string>();
  for (const path of changed) {
    // 'enrollments.X.status' or a nested field path reads as its top two segments, as in changeAffects.
    const top = path.split('.').slice(0, path.startsWith('fields.') || path.startsWith('enrollments.') ? 2 : 1).join('.');
    if (reads.all || reads.paths.has(top)) parts.add(describePath(user, top));
  }
  return parts.size ? [...parts].join(', ') : undefined;
}
