// Which open directory writes (user-events.ts) a group is still owed: a write whose reaction failed, or
// is late, may have left the group's membership stale until the replay job finishes it. A write that created or
// deleted users may affect any automatic group; one that changed users affects the groups whose rule (or policy)
// reads a changed path, as for the reaction itself (rule-reads.ts).
import type { BacklogEntry } from '../directory/user-events.js';
import type { GroupDoc } from '../groups/group.model.js';
import { changeAffects, ruleReads } from './rule-reads.js';

export interface GroupBacklog {
  /** Users named by the writes owed to the group (a user in two writes counts twice). */
  users: number;
  writes: number;
  /** The most tries any of those writes has had: 1 while only the write's own reaction failed. */
  attempts: number;
  lastError?: string;
}

export function backlogOf(group: Pick<GroupDoc, 'type' | 'paused' | 'rule' | 'includeInactive' | 'manualMembers'>, entries: readonly BacklogEntry[]): GroupBacklog | undefined {
  if (group.type !== 'automatic' || group.paused || entries.length === 0) return undefined;
  const reads = ruleReads(group.rule);
  let out: GroupBacklog | undefined;
  for (const e of entries) {
    if (!e.whole && !changeAffects(reads, group, e.paths)) continue;
    out ??= { users: 0, writes: 0, attempts: 0 };
    out.users += e.users;
    out.writes++;
    if (e.attempts >= out.attempts) {
      out.attempts = e.attempts;
      if (e.lastError) out.lastError = e.lastError;
    }
  }
  return out;
}

/** The sentence a group's `sync.lastError` shows while it is owed a reaction. */
export function backlogMessage(b: GroupBacklog): string {
  const tries = b.attempts > 1 ? `${b.attempts} tries so far` : 'its retry is queued';
  const cause = b.lastError ? ` (${b.lastError})` : ' (its reaction did not finish)';
  return `${b.users} user${b.users === 1 ? '' : 's'} changed by ${b.writes} directory write${b.writes === 1 ? '' : 's'} may not be reflected yet: the membership reaction failed${cause}; a job re-applies it, ${tries}.`;
}
