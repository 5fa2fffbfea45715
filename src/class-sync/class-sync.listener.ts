// Class group sync follows directory writes (src/reactions.ts), beside membership: a changed
// enrolment of a course whose class sync is active moves that user between the course's class groups before the
// write answers. A user's status or type also counts (an inactive user leaves; staff added by hand stay), so those
// changes re-evaluate the user in every active course they are enrolled in. A deleted user leaves every group
// through membership's own reaction (on-change.ts).
//
// The write's id names the writer: a replay writes as the first reaction would have (same run key and instant).
import type { DirectoryChange, PublishMeta } from '../directory/directory-change.js';
import { readUsers } from '../directory/user-store.js';
import type { SafetyValve } from '../membership/policy.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock } from '../platform/clock.js';
import { activeClassSyncCourses, applyClassChange } from './class-sync.service.js';

const ENROLLMENT = 'enrollments.';

/** Per active course, the users whose change may move them between its class groups. */
async function affectedUsers(changes: readonly DirectoryChange[], active: ReadonlySet<string>): Promise<Map<string, { users: Set<string>; actor: string }>> {
  const byCourse = new Map<string, { users: Set<string>; actor: string }>();
  const add = (course: string, user: string, actor: string) => {
    if (!active.has(course)) return;
    let entry = byCourse.get(course);
    if (!entry) byCourse.set(course, (entry = { users: new Set(), actor }));
    entry.users.add(user);
  };
  const standing = new Map<string, string>();
  for (const c of changes) {
    if (c.kind === 'user.deleted') continue;
    for (const p of c.changed) if (p.startsWith(ENROLLMENT)) add(p.slice(ENROLLMENT.length).split('.')[0]!, c.externalId, c.actor);
    if (c.kind === 'user.created' || c.changed.includes('status') || c.changed.includes('type')) standing.set(c.externalId, c.actor);
  }
  if (standing.size) {
    for (const [id, doc] of await readUsers([...standing.keys()])) {
      for (const course of Object.keys(doc.enrollments ?? {})) add(course, id, standing.get(id)!);
    }
  }
  return byCourse;
}

async function applyClassChanges(changes: readonly DirectoryChange[], meta: PublishMeta, deps: { valve: SafetyValve; metrics?: Metrics; clock: Clock }): Promise<number> {
  const active = await activeClassSyncCourses(deps.clock.now());
  if (active.length === 0) return 0;
  const byCourse = await affectedUsers(changes, new Set(active));
  const runKey = `change:${meta.id}`;
  const at = meta.at;
  let moved = 0;
  for (const [course, { users, actor }] of byCourse) {
    const outcome = await applyClassChange(course, [...users], { runKey, at, actor, valve: deps.valve, ...(deps.metrics ? { metrics: deps.metrics } : {}) });
    moved += outcome.added + outcome.removed;
  }
  return moved;
}

export async function followEnrolments(changes: readonly DirectoryChange[], meta: PublishMeta, deps: { valve: SafetyValve; metrics: Metrics; clock: Clock }): Promise<void> {
  const end = deps.metrics.syncDuration.startTimer({ kind: 'class' });
  try {
    await applyClassChanges(changes, meta, deps);
    end({ outcome: 'completed' });
  } catch (err) {
    end({ outcome: 'failed' });
    throw err;
  }
}
