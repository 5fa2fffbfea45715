// POST /enrollments/batch: up to 10,000 enrolments, each upserted by (course, externalId), answered like the
// user batch. Courses are read in one query and users in one query (`_id $in`); each changed user is written
// once, with a `$set` of every enrolment of the batch that changed for them, in unordered bulk updates by _id.
// Users are read as readUsersByIds finds cheapest on the backend.
//
// The same path serves a group's enrolments (groups/group-courses.ts): enrollIfAbsent enrols where the user has no
// enrolment in the course, removeGroupEnrollments takes back what a group made.
import { checkEnrollmentRecord, nextEnrollment, type EnrollmentInput } from './enrollment.schema.js';
import type { EnrollmentDoc } from './user.model.js';
import { existingCourseCodes } from './courses.service.js';
import { userLock } from './lock-keys.js';
import { db, withLocks } from '../platform/db/index.js';
import { readUsersByIds, usersCollection } from './user-store.js';
import { announce, settleOwedReactions, type WriteContext } from './directory-events.js';
import { writeAhead, type JournaledIntent } from './reaction-journal.js';
import type { DirectoryChange } from './directory-events.js';
import { BatchOutcome, rejectDuplicates, type BatchResult } from './batch-outcome.js';
import { MAX_BATCH_RECORDS } from './identifiers.js';

/** The most enrolments one write takes: as many as POST /enrollments/batch. */
export const ENROLLMENT_BATCH_MAX = MAX_BATCH_RECORDS;

interface Candidate {
  index: number;
  externalId: string;
  course: string;
  input: EnrollmentInput;
}

export async function applyEnrollmentBatch(records: readonly unknown[], ctx: WriteContext): Promise<BatchResult> {
  const outcome = new BatchOutcome();
  let candidates: Candidate[] = [];
  records.forEach((raw, index) => {
    const { input, externalId, errors } = checkEnrollmentRecord(raw);
    if (input) candidates.push({ index, externalId: input.externalId, course: input.course, input });
    else outcome.fail(index, externalId, errors);
  });
  candidates = rejectDuplicates(candidates, (c) => `${c.course}\n${c.externalId}`, 'course', 'this course and externalId', outcome);

  const courses = await existingCourseCodes([...new Set(candidates.map((c) => c.course))]);
  candidates = candidates.filter((c) => {
    if (courses.has(c.course)) return true;
    outcome.fail(c.index, c.externalId, [{ path: 'course', message: `no course with code ${c.course}` }]);
    return false;
  });

  await storeEnrollments(candidates, outcome, ctx, { keepExisting: false, now: new Date() });
  return outcome.result();
}

/**
 * Stores the candidates' enrolments: one read of their users, one write per changed user, journaled before the
 * write and announced after it like every directory write. `now` stamps what is written (a job passes its own
 * instant, so that its re-run writes the very same documents).
 */
async function storeEnrollments(candidates: readonly Candidate[], outcome: BatchOutcome, ctx: WriteContext, opts: { keepExisting: boolean; now: Date }): Promise<void> {
  const { now } = opts;
  const own = new Map<string, string[]>();
  await withLocks(candidates.map((c) => userLock(c.externalId)), async () => {
    // What an earlier, cut-off run of this batch left owed is settled before this one answers.
    await settleOwedReactions(new Set(candidates.map((c) => c.externalId)));
    const ids = [...new Set(candidates.map((c) => c.externalId))];
    const { byId } = await readUsersByIds(ids, { _id: 1, enrollments: 1 });
    const enrollmentsOf = new Map([...byId].map(([id, d]) => [id, (d.enrollments ?? {}) as Record<string, EnrollmentDoc>]));

    const perUser = new Map<string, { set: Record<string, unknown>; changed: string[]; created: number; updated: number }>();
    for (const c of candidates) {
      const current = enrollmentsOf.get(c.externalId);
      if (!current) {
        outcome.fail(c.index, c.externalId, [{ path: 'externalId', message: `no user with externalId ${c.externalId}` }]);
        continue;
      }
      // keepExisting: a group enrols only where the user has no enrolment in the course (of any status).
      const existing = current[c.course];
      const next = opts.keepExisting && existing ? undefined : nextEnrollment(existing, c.input, now);
      if (!next) {
        outcome.unchanged++;
        // This writer's own enrolment from an earlier run cut off (same maker, same instant): its write may have
        // been stored without its reaction, so it is announced again (listeners are idempotent).
        if (opts.keepExisting && existing?.enrolledBy && existing.enrolledBy === c.input.enrolledBy && existing.enrolledAt?.getTime() === now.getTime()) {
          own.set(c.externalId, [...(own.get(c.externalId) ?? []), `enrollments.${c.course}`]);
        }
        continue;
      }
      let entry = perUser.get(c.externalId);
      if (!entry) perUser.set(c.externalId, (entry = { set: { updatedAt: now }, changed: [], created: 0, updated: 0 }));
      const path = `enrollments.${c.course}`;
      entry.set[path] = next;
      entry.changed.push(path);
      if (current[c.course]) entry.updated++;
      else entry.created++;
    }
    const changes = [...perUser].map(([externalId, e]): DirectoryChange => ({ kind: 'user.changed', externalId, changed: e.changed.sort(), actor: ctx.actor }));
    // Journaled before writing (writeAhead): enrolments stored by a batch cut off half-way are reacted to by the
    // replay, though a retry finds them unchanged.
    const { intent } = changes.length
      ? await writeAhead(changes, () => db().bulkUpdateById(usersCollection(), [...perUser].map(([_id, e]) => ({ _id, update: { $set: e.set } }))))
      : { intent: undefined };
    for (const e of perUser.values()) {
      outcome.created += e.created;
      outcome.updated += e.updated;
    }
    // Under the users' locks, as for every directory write (reactions to one user never overlap).
    await announce(ctx, changes, intent);
    await announce(ctx, [...own].map(([externalId, paths]) => ({ kind: 'user.changed' as const, externalId, changed: paths.sort(), actor: ctx.actor })));
  });
}

/** An enrolment a group makes: `subscribed`, marked with the group (`enrolledBy: group:<id>`). */
export interface GroupEnrollment {
  course: string;
  externalId: string;
  enrolledBy: string;
}

/**
 * Enrols each user in each course as `subscribed` unless they have an enrolment in that course already, which is
 * left exactly as it is. Through the batch path in chunks of at most ENROLLMENT_BATCH_MAX, so the journal and the
 * directory's listeners see these enrolments as any other. A user who no longer exists is counted as failed.
 */
export async function enrollIfAbsent(items: readonly GroupEnrollment[], ctx: WriteContext, now = new Date()): Promise<BatchResult> {
  const outcome = new BatchOutcome();
  for (let i = 0; i < items.length; i += ENROLLMENT_BATCH_MAX) {
    const chunk = items.slice(i, i + ENROLLMENT_BATCH_MAX).map((g, j) => ({
      index: i + j,
      externalId: g.externalId,
      course: g.course,
      input: { status: 'subscribed' as const, role: 'student' as const, enrolledBy: g.enrolledBy },
    }));
    await storeEnrollments(chunk, outcome, ctx, { keepExisting: true, now });
  }
  return outcome.result();
}

/**
 * Removes the enrolments a group made (`enrolledBy` names it), except those that reached `completed`: a completion
 * is the learner's record and outlives the group. Any other enrolment (the user's own, another group's) is left.
 */
export async function removeGroupEnrollments(items: readonly GroupEnrollment[], ctx: WriteContext): Promise<{ removed: number; kept: number }> {
  let removed = 0;
  let kept = 0;
  for (let i = 0; i < items.length; i += ENROLLMENT_BATCH_MAX) {
    const chunk = items.slice(i, i + ENROLLMENT_BATCH_MAX);
    const changes: DirectoryChange[] = [];
    let intent: JournaledIntent | undefined;
    await withLocks(chunk.map((c) => userLock(c.externalId)), async () => {
      const { byId } = await readUsersByIds([...new Set(chunk.map((c) => c.externalId))], { _id: 1, enrollments: 1 });
      const perUser = new Map<string, string[]>();
      for (const c of chunk) {
        const current = (byId.get(c.externalId)?.enrollments as Record<string, EnrollmentDoc> | undefined)?.[c.course];
        if (!current || current.enrolledBy !== c.enrolledBy || current.status === 'completed') {
          kept += current ? 1 : 0;
          continue;
        }
        let paths = perUser.get(c.externalId);
        if (!paths) perUser.set(c.externalId, (paths = []));
        paths.push(`enrollments.${c.course}`);
      }
      if (perUser.size === 0) return;
      for (const [externalId, paths] of perUser) changes.push({ kind: 'user.changed', externalId, changed: paths.sort(), actor: ctx.actor });
      const now = new Date();
      ({ intent } = await writeAhead(changes, () =>
        db().bulkUpdateById(usersCollection(), [...perUser].map(([_id, paths]) => ({ _id, update: { $unset: Object.fromEntries(paths.map((p) => [p, ''])), $set: { updatedAt: now } } }))),
      ));
      for (const paths of perUser.values()) removed += paths.length;
      await announce(ctx, changes, intent);
    });
  }
  return { removed, kept };
}
