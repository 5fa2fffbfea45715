// A group's courses: attaching and detaching them, enrolling the members in them (and undoing that), and enrolling
// each member as they join.
//
// Every enrolment a group makes is `subscribed`, marked `enrolledBy: group:<id>`, and written through the
// enrolment batch path (directory/enrollment-batch.service.ts): versioned and reacted to like any directory write,
// so automatic groups whose rules read enrolments react. A user who has an enrolment in the course already keeps
// it as it is; unenroll removes only what the group made and what has not reached `completed`, and leaves the
// enrolment of a user who is also a member of another group carrying the same course.
//
// Safe to run twice, or twice at once: an enrolment is a key of its user's document (`enrollments.<code>`), so there
// is never more than one per user and course; the enrol job stamps what it writes with its own queued instant, so
// a re-run writes the same documents, and a user already enrolled (by the first run) is left alone.
import { writeGroup } from './group-writes.js';
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { NotFoundError } from '../platform/errors.js';
import { db, withLocks } from '../platform/db/index.js';
import type { Logger } from '../platform/logger.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { courseExists } from '../directory/courses.service.js';
import { enrollIfAbsent, removeGroupEnrollments, ENROLLMENT_BATCH_MAX, type GroupEnrollment } from '../directory/enrollment-batch.service.js';
import { memberships, type AddedMembership } from '../membership/membership-store.js';
import { membershipId } from '../membership/membership.model.js';
import { GroupModel, type GroupDoc } from './group.model.js';
import { getGroup, groupLock, requireGroup, type GroupView } from './groups.service.js';

export const GROUP_ENROLL_JOB = 'group-enroll';
export type GroupEnrollAction = 'enroll' | 'unenroll';

/** What a group's enrolments are marked with. */
export const enrolledBy = (groupId: string) => `group:${groupId}`;

/** Users per write: at most 500, and never more enrolments than one batch takes. */
export const usersPerChunk = (courses: number) => Math.max(1, Math.min(500, Math.floor(ENROLLMENT_BATCH_MAX / Math.max(1, courses))));

async function requireCourse(code: string): Promise<void> {
  if (!(await courseExists(code))) throw new NotFoundError(`No course with code ${code}.`, [{ path: 'code', message: 'no such course' }]);
}

/** PUT /groups/{id}/courses/{code}: idempotent; the group as it stands after. */
export async function attachCourse(groupId: string, code: string): Promise<GroupView> {
  await withLocks([groupLock(groupId)], async () => {
    const group = await requireGroup(groupId);
    await requireCourse(code);
    if (group.courses.includes(code)) return;
    await writeGroup(group, { $set: { courses: [...group.courses, code], updatedAt: new Date() } });
  });
  return getGroup(groupId);
}

/** DELETE /groups/{id}/courses/{code}: idempotent. Enrolments stay (POST /groups/{id}/unenroll first to undo them). */
export async function detachCourse(groupId: string, code: string): Promise<void> {
  await withLocks([groupLock(groupId)], async () => {
    const group = await requireGroup(groupId);
    if (!group.courses.includes(code)) {
      await requireCourse(code);
      return;
    }
    await writeGroup(group, { $set: { courses: group.courses.filter((c) => c !== code), updatedAt: new Date() } });
  });
}

export interface GroupEnrollJobData {
  groupId: string;
  action: GroupEnrollAction;
}

/** POST /groups/{id}/enroll or /unenroll: checks the group, queues the job. */
export async function startGroupEnrollment(scheduler: Scheduler, groupId: string, action: GroupEnrollAction, actor: string): Promise<string> {
  await requireGroup(groupId);
  const data: GroupEnrollJobData = { groupId, action };
  return scheduler.enqueue(GROUP_ENROLL_JOB, data, { actor, jobId: `${GROUP_ENROLL_JOB}:${groupId}:${action}:${randomUUID()}` });
}

export interface GroupEnrollOptions {
  /** Stamps the enrolments made (the job's queued instant: a re-run writes the same documents). */
  at: Date;
  actor: string;
  logger: Logger;
  progress?: (done: number, total: number) => Promise<void>;
}

export interface GroupEnrollResult {
  members: number;
  courses: number;
  /** enroll: enrolments made; unenroll: enrolments removed. */
  enrolled?: number;
  unchanged?: number;
  failed?: number;
  removed?: number;
  kept?: number;
}

/** The group's member ids, read once (ids only) so that no cursor stays open across the writes. */
async function memberIds(groupId: string): Promise<string[]> {
  const docs = await memberships().find({ group: groupId }, { projection: { externalId: 1 } }).toArray();
  return docs.map((d) => d.externalId).sort();
}

/** For each of the courses, the other groups that carry it too. */
async function otherGroupsWith(groupId: string, courses: readonly string[]): Promise<Map<string, string[]>> {
  const docs = await GroupModel.find({ _id: { $ne: groupId } }, { courses: 1 }).lean<Array<Pick<GroupDoc, '_id' | 'courses'>>>();
  return new Map(courses.map((c) => [c, docs.filter((d) => (d.courses ?? []).includes(c)).map((d) => d._id)]));
}

/**
 * What unenroll may take back: the items whose user is not a member of another group carrying the course too (that
 * group would enrol them again on the spot; its members stay enrolled, as enrol-on-join promises).
 */
async function notHeldElsewhere(items: readonly GroupEnrollment[], others: Map<string, string[]>): Promise<{ free: GroupEnrollment[]; held: number }> {
  const ids = [...new Set(items.flatMap((i) => (others.get(i.course) ?? []).map((g) => membershipId(g, i.externalId))))];
  if (ids.length === 0) return { free: [...items], held: 0 };
  const present = await db().readByIds(memberships(), ids);
  const free = items.filter((i) => !(others.get(i.course) ?? []).some((g) => present.has(membershipId(g, i.externalId))));
  return { free, held: items.length - free.length };
}

/** The job's work: every member × every course of the group, chunk by chunk, with progress after each. */
export async function runGroupEnrollment(groupId: string, action: GroupEnrollAction, opts: GroupEnrollOptions): Promise<GroupEnrollResult> {
  const group = await requireGroup(groupId);
  const members = await memberIds(groupId);
  const result: GroupEnrollResult = { members: members.length, courses: group.courses.length };
  if (action === 'enroll') Object.assign(result, { enrolled: 0, unchanged: 0, failed: 0 });
  else Object.assign(result, { removed: 0, kept: 0 });
  await opts.progress?.(0, members.length);
  if (group.courses.length === 0) {
    await opts.progress?.(members.length, members.length);
    return result;
  }
  const step = usersPerChunk(group.courses.length);
  const ctx = { actor: opts.actor, logger: opts.logger };
  const others = action === 'unenroll' ? await otherGroupsWith(groupId, group.courses) : new Map<string, string[]>();
  for (let i = 0; i < members.length; i += step) {
    const chunk = members.slice(i, i + step);
    const items: GroupEnrollment[] = chunk.flatMap((externalId) => group.courses.map((course) => ({ course, externalId, enrolledBy: enrolledBy(groupId) })));
    if (action === 'enroll') {
      const r = await enrollIfAbsent(items, ctx, opts.at);
      result.enrolled! += r.created;
      result.unchanged! += r.unchanged + r.updated;
      result.failed! += r.failed;
    } else {
      const { free, held } = await notHeldElsewhere(items, others);
      const r = await removeGroupEnrollments(free, ctx);
      result.removed! += r.removed;
      result.kept! += r.kept + held;
    }
    await opts.progress?.(Math.min(members.length, i + step), members.length);
  }
  return result;
}

/**
 * Enrol-on-join (the membership store's added hook, wired in src/reactions.ts): whoever just joined a group with
 * courses, by any source, is enrolled in them at once, stamped with the instant of the join. One read of the groups
 * concerned and one batch write per actor, however many joined.
 */
export function enrollJoiners(logger: Logger) {
  return async (added: readonly AddedMembership[], at: Date): Promise<void> => {
    const groupIds = [...new Set(added.map((a) => a.groupId))];
    const groups = await db().readByIds(GroupModel.collection as unknown as Collection<GroupDoc>, groupIds);
    const byActor = new Map<string, GroupEnrollment[]>();
    const seen = new Set<string>();
    for (const a of added) {
      for (const course of groups.get(a.groupId)?.courses ?? []) {
        // Two groups with the same course: the first makes the enrolment, the other finds it there.
        const key = `${course}\n${a.externalId}`;
        if (seen.has(key)) continue;
        seen.add(key);
        let list = byActor.get(a.actor);
        if (!list) byActor.set(a.actor, (list = []));
        list.push({ course, externalId: a.externalId, enrolledBy: enrolledBy(a.groupId) });
      }
    }
    for (const [actor, items] of byActor) await enrollIfAbsent(items, { actor, logger }, at);
  };
}
