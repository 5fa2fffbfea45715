// Enrolments, stored inside the user document under `enrollments.<course code>`. Writes take the user's lock, read
// the user (handed on to the reaction as stored), and `$set`/`$unset` exactly that path, as the user's next version
// (user-writes.ts); each real change is an event changing `enrollments.<code>` of that user.
import { NotFoundError, ValidationError } from '../platform/errors.js';
import { encodeCursor, pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';
import type { EnrollmentDoc, UserDoc } from './user.model.js';
import { nextEnrollment, type EnrollmentInput } from './enrollment.schema.js';
import { courseExists } from './courses.service.js';
import { userLock } from './lock-keys.js';
import { withLocks } from '../platform/db/index.js';
import { usersCollection } from './user-store.js';
import { updateUsers, userRaced, type WriteContext } from './user-writes.js';

interface EnrollmentView {
  course: string;
  externalId: string;
  status: string;
  role: string;
  class?: string;
  cohort?: string;
  mode?: string;
  enrolledAt: string;
  completedAt?: string;
  updatedAt: string;
  /** `group:<id>` when a group's courses made the enrolment. */
  enrolledBy?: string;
}

function enrollmentView(course: string, externalId: string, e: EnrollmentDoc): EnrollmentView {
  return {
    course,
    externalId,
    status: e.status,
    role: e.role ?? 'student',
    ...(e.class != null ? { class: e.class } : {}),
    ...(e.cohort != null ? { cohort: e.cohort } : {}),
    ...(e.mode != null ? { mode: e.mode } : {}),
    enrolledAt: e.enrolledAt.toISOString(),
    ...(e.completedAt ? { completedAt: e.completedAt.toISOString() } : {}),
    updatedAt: e.updatedAt.toISOString(),
    ...(e.enrolledBy ? { enrolledBy: e.enrolledBy } : {}),
  };
}

const enrollmentPath = (code: string) => `enrollments.${code}`;

/**
 * The user's enrolment in one course, and the user whole: a write hands the user on as stored (PathsUpdate.read), and
 * the membership reaction, which needs the whole user, does not read it again. (Projected to the one enrolment, it
 * was read twice: here, then by the reaction.)
 */
async function readEnrollment(code: string, externalId: string): Promise<{ user: boolean; version?: number; enrollment?: EnrollmentDoc; read?: UserDoc }> {
  const doc = await usersCollection().findOne({ _id: externalId });
  if (!doc) return { user: false };
  return { user: true, version: doc.version ?? 0, enrollment: doc.enrollments?.[code], read: doc };
}

function notFound(course: boolean, user: boolean, code: string, externalId: string): NotFoundError {
  const missing = [...(course ? [] : [`no course with code ${code}`]), ...(user ? [] : [`no user with externalId ${externalId}`])];
  return new NotFoundError(`There is ${missing.join(' and ')}.`, [
    ...(course ? [] : [{ path: 'code', message: 'no such course' }]),
    ...(user ? [] : [{ path: 'externalId', message: 'no such user' }]),
  ]);
}

function checkPath(code: string, externalId: string, input: EnrollmentInput): void {
  const errors = [
    ...(input.course !== undefined && input.course !== code ? [{ path: 'course', message: `must match the path (${code}) or be left out` }] : []),
    ...(input.externalId !== undefined && input.externalId !== externalId ? [{ path: 'externalId', message: `must match the path (${externalId}) or be left out` }] : []),
  ];
  if (errors.length) throw new ValidationError(`The request has ${errors.length} invalid field${errors.length > 1 ? 's' : ''}.`, errors);
}

/** PUT: enrols the user, or changes the enrolment. */
export async function putEnrollment(code: string, externalId: string, input: EnrollmentInput, ctx: WriteContext): Promise<{ enrollment: EnrollmentView; created: boolean }> {
  checkPath(code, externalId, input);
  const result = await withLocks([userLock(externalId)], async () => {
    const [course, current] = await Promise.all([courseExists(code), readEnrollment(code, externalId)]);
    if (!course || !current.user) throw notFound(course, current.user, code, externalId);
    const now = new Date();
    const next = nextEnrollment(current.enrollment, input, now);
    if (!next) return { doc: current.enrollment!, created: false };
    // Under the user's lock, as for every directory write (reactions to one user never overlap).
    const path = enrollmentPath(code);
    const stored = await updateUsers(ctx, new Map([[externalId, { from: current.version!, changed: [path], set: { [path]: next }, read: current.read! }]]), now);
    if (!stored.has(externalId)) throw userRaced(externalId);
    return { doc: next, created: !current.enrollment };
  });
  return { enrollment: enrollmentView(code, externalId, result.doc), created: result.created };
}

/** DELETE: the user leaves the course. */
export async function deleteEnrollment(code: string, externalId: string, ctx: WriteContext): Promise<void> {
  await withLocks([userLock(externalId)], async () => {
    const current = await readEnrollment(code, externalId);
    if (!current.user) throw notFound(await courseExists(code), false, code, externalId);
    if (!current.enrollment) throw new NotFoundError(`User ${externalId} is not enrolled in course ${code}.`);
    const path = enrollmentPath(code);
    const stored = await updateUsers(ctx, new Map([[externalId, { from: current.version!, changed: [path], unset: { [path]: '' }, read: current.read! }]]));
    if (!stored.has(externalId)) throw userRaced(externalId);
  });
}

/** A course's enrolments, by externalId. On MongoDB the `enrollments.$**` wildcard index serves the filter. */
export async function listCourseEnrollments(code: string, page: PageRequest): Promise<Page<EnrollmentView>> {
  if (!(await courseExists(code))) throw new NotFoundError(`No course with code ${code}.`);
  const path = enrollmentPath(code);
  const docs = await usersCollection()
    .find({ ...pageQuery(page, '_id'), [`${path}.status`]: { $exists: true } }, { projection: { _id: 1, [path]: 1 } })
    .sort({ _id: 1 })
    .limit(page.limit + 1)
    .toArray();
  return toPage(
    docs.map((d) => enrollmentView(code, d._id, d.enrollments[code]!)),
    page.limit,
    (e) => e.externalId,
  );
}

/** A user's enrolments, by course code (one read by _id; paged in memory). */
export async function listUserEnrollments(externalId: string, page: PageRequest): Promise<Page<EnrollmentView>> {
  const doc = await usersCollection().findOne({ _id: externalId }, { projection: { _id: 1, enrollments: 1 } });
  if (!doc) throw new NotFoundError(`No user with externalId ${externalId}.`);
  const codes = Object.keys(doc.enrollments ?? {})
    .filter((c) => page.after === undefined || c > page.after)
    .sort();
  const items = codes.slice(0, page.limit).map((c) => enrollmentView(c, externalId, (doc as UserDoc).enrollments[c]!));
  return { items, nextCursor: codes.length > page.limit ? encodeCursor(items[items.length - 1]!.course) : null };
}
