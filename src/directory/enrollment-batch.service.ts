// POST /enrollments/batch: up to 10,000 enrolments, each upserted by (course, externalId), answered like the
// user batch. Courses are read in one query and users in one query (`_id $in`); each changed user is written
// once, with a `$set` of every enrolment of the batch that changed for them, in unordered bulk updates by _id.
// Users are read as readUsersByIds finds cheapest on the backend.
import { checkEnrollmentRecord, nextEnrollment, type EnrollmentInput } from './enrollment.schema.js';
import type { EnrollmentDoc } from './user.model.js';
import { existingCourseCodes } from './courses.service.js';
import { userLock } from './lock-keys.js';
import { db, withLocks } from '../platform/db/index.js';
import { readUsersByIds, usersCollection } from './user-store.js';
import { announce, type WriteContext } from './directory-events.js';
import { writeAhead, type JournaledIntent } from './reaction-journal.js';
import type { DirectoryChange } from './directory-events.js';
import { BatchOutcome, rejectDuplicates, type BatchResult } from './batch-outcome.js';

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

  const changes: DirectoryChange[] = [];
  let intent: JournaledIntent | undefined;
  await withLocks(candidates.map((c) => userLock(c.externalId)), async () => {
    const ids = [...new Set(candidates.map((c) => c.externalId))];
    const { byId } = await readUsersByIds(ids, { _id: 1, enrollments: 1 });
    const enrollmentsOf = new Map([...byId].map(([id, d]) => [id, (d.enrollments ?? {}) as Record<string, EnrollmentDoc>]));

    const now = new Date();
    const perUser = new Map<string, { set: Record<string, unknown>; changed: string[]; created: number; updated: number }>();
    for (const c of candidates) {
      const current = enrollmentsOf.get(c.externalId);
      if (!current) {
        outcome.fail(c.index, c.externalId, [{ path: 'externalId', message: `no user with externalId ${c.externalId}` }]);
        continue;
      }
      const next = nextEnrollment(current[c.course], c.input, now);
      if (!next) {
        outcome.unchanged++;
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
    if (perUser.size === 0) return;
    for (const [externalId, e] of perUser) changes.push({ kind: 'user.changed', externalId, changed: e.changed.sort(), actor: ctx.actor });
    // Journaled before writing (writeAhead): enrolments stored by a batch cut off half-way are reacted to by the
    // replay, though a retry finds them unchanged.
    ({ intent } = await writeAhead(changes, () => db().bulkUpdateById(usersCollection(), [...perUser].map(([_id, e]) => ({ _id, update: { $set: e.set } })))));
    for (const e of perUser.values()) {
      outcome.created += e.created;
      outcome.updated += e.updated;
    }
  });
  await announce(ctx, changes, intent);
  return outcome.result();
}
