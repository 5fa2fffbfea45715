// POST /enrollments/batch: up to 10,000 enrolments, each upserted by (course, externalId), answered like the
// user batch. Courses are read in one query and users in one query (`_id $in`); each changed user is written
// once, with a `$set` of every enrolment of the batch that changed for them, in unordered bulk updates by _id.
// Users are read whole, as readUsersByIds finds cheapest on the backend, and handed to the membership reaction
// as stored after the write, so that it does not read them back.
//
// The same path serves a group's enrolments (groups/group-courses.ts): enrollIfAbsent enrols where the user has no
// enrolment in the course, removeGroupEnrollments takes back what a group made.
import { checkEnrollmentRecord, nextEnrollment, type EnrollmentInput } from './enrollment.schema.js';
import type { EnrollmentDoc } from './user.model.js';
import { existingCourseCodes } from './courses.service.js';
import { forEachLeasedSlice } from './lease-slices.js';
import { readUsersByIds } from './user-store.js';
import { settleOwed, updateUsers, type PathsUpdate, type WriteContext } from './user-writes.js';
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
 * Stores the candidates' enrolments, a slice of users at a time under their leases (lease-slices.ts): per slice one read
 * of its users, one write per changed user, each the user's next version (user-writes.ts) like every directory
 * write. `now` stamps what is written (a job passes its own instant, so that its re-run writes the very same
 * documents).
 */
async function storeEnrollments(candidates: readonly Candidate[], outcome: BatchOutcome, ctx: WriteContext, opts: { keepExisting: boolean; now: Date }): Promise<void> {
  await forEachLeasedSlice(candidates, (c) => c.externalId, ctx, (slice, sliceCtx) => storeSlice(slice, outcome, sliceCtx, opts));
}

/** One slice, under its users' leases. */
async function storeSlice(candidates: readonly Candidate[], outcome: BatchOutcome, ctx: WriteContext, opts: { keepExisting: boolean; now: Date }): Promise<void> {
  const { now } = opts;
  // What an earlier, cut-off run of this batch left owed is settled before this one answers.
  await settleOwed(new Set(candidates.map((c) => c.externalId)));
  const ids = [...new Set(candidates.map((c) => c.externalId))];
  // Whole users: what this batch stores of them is handed to the reactions, which then read nothing again.
  const { byId } = await readUsersByIds(ids, {});
  const enrollmentsOf = new Map([...byId].map(([id, d]) => [id, (d.enrollments ?? {}) as Record<string, EnrollmentDoc>]));

  const perUser = new Map<string, PathsUpdate & { set: Record<string, unknown>; created: number; updated: number }>();
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
      // An enrolment an earlier, cut-off run of this writer stored is unchanged now; if that run's reaction was
      // cut off too, its write is still open and settleOwed above applied it.
      outcome.unchanged++;
      continue;
    }
    let entry = perUser.get(c.externalId);
    if (!entry) {
      const read = byId.get(c.externalId)!;
      perUser.set(c.externalId, (entry = { from: read.version ?? 0, read, set: {}, changed: [], created: 0, updated: 0 }));
    }
    const path = `enrollments.${c.course}`;
    entry.set[path] = next;
    entry.changed.push(path);
    if (current[c.course]) entry.updated++;
    else entry.created++;
  }
  for (const e of perUser.values()) e.changed.sort();
  // Users the outbox refused (written meanwhile by a writer outside the lease) are reported and not counted.
  const stored = await updateUsers(ctx, perUser, now);
  for (const c of candidates) {
    if (perUser.has(c.externalId) && !stored.has(c.externalId)) outcome.fail(c.index, c.externalId, [{ path: 'externalId', message: 'was written by another request at the same moment; send the record again' }]);
  }
  for (const [user, e] of perUser) {
    if (!stored.has(user)) continue;
    outcome.created += e.created;
    outcome.updated += e.updated;
  }
}

/** An enrolment a group makes: `subscribed`, marked with the group (`enrolledBy: group:<id>`). */
export interface GroupEnrollment {
  course: string;
  externalId: string;
  enrolledBy: string;
}

/**
 * Enrols each user in each course as `subscribed` unless they have an enrolment in that course already, which is
 * left exactly as it is. Through the batch path in chunks of at most ENROLLMENT_BATCH_MAX, so membership follows
 * these enrolments as any other. A user who no longer exists is counted as failed.
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
    const chunkCtx = { ...ctx, moreFollow: i + ENROLLMENT_BATCH_MAX < items.length };
    await forEachLeasedSlice(items.slice(i, i + ENROLLMENT_BATCH_MAX), (c) => c.externalId, chunkCtx, removeSlice);
  }
  return { removed, kept };

  /** One slice, under its users' leases. */
  async function removeSlice(chunk: readonly GroupEnrollment[], sliceCtx: WriteContext): Promise<void> {
    const { byId } = await readUsersByIds([...new Set(chunk.map((c) => c.externalId))], {});
    const perUser = new Map<string, PathsUpdate & { unset: Record<string, ''> }>();
    for (const c of chunk) {
      const current = (byId.get(c.externalId)?.enrollments as Record<string, EnrollmentDoc> | undefined)?.[c.course];
      if (!current || current.enrolledBy !== c.enrolledBy || current.status === 'completed') {
        kept += current ? 1 : 0;
        continue;
      }
      let entry = perUser.get(c.externalId);
      if (!entry) {
        const read = byId.get(c.externalId)!;
        perUser.set(c.externalId, (entry = { from: read.version ?? 0, read, changed: [], unset: {} }));
      }
      entry.changed.push(`enrollments.${c.course}`);
      entry.unset[`enrollments.${c.course}`] = '';
    }
    for (const e of perUser.values()) e.changed.sort();
    const stored = await updateUsers(sliceCtx, perUser);
    for (const [user, e] of perUser) if (stored.has(user)) removed += e.changed.length;
  }
}
