// Courses, keyed by code. A PUT that changes nothing writes nothing.
import { NotFoundError, ValidationError } from '../platform/errors.js';
import { pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';
import { CourseModel, type CourseDoc } from './course.model.js';
import type { CourseInput } from './course.schema.js';
import { courseLock } from './lock-keys.js';
import { withLocks } from '../platform/db/index.js';

interface CourseView {
  code: string;
  title: string;
  createdAt: string;
  updatedAt: string;
}

function view(doc: CourseDoc): CourseView {
  return { code: doc._id, title: doc.title, createdAt: doc.createdAt.toISOString(), updatedAt: doc.updatedAt.toISOString() };
}

export async function putCourse(code: string, input: CourseInput): Promise<{ course: CourseView; created: boolean }> {
  if (input.code !== undefined && input.code !== code) {
    throw new ValidationError('The request has 1 invalid field.', [{ path: 'code', message: `must match the path (${code}) or be left out` }]);
  }
  return withLocks([courseLock(code)], async () => {
    const existing = await CourseModel.findById(code).lean<CourseDoc>();
    const now = new Date();
    if (!existing) {
      const doc = { _id: code, title: input.title, createdAt: now, updatedAt: now };
      await CourseModel.collection.insertOne(doc as never);
      return { course: view(doc), created: true };
    }
    if (existing.title === input.title) return { course: view(existing), created: false };
    await CourseModel.collection.updateOne({ _id: code } as never, { $set: { title: input.title, updatedAt: now } });
    return { course: view({ ...existing, title: input.title, updatedAt: now }), created: false };
  });
}

export async function getCourse(code: string): Promise<CourseView> {
  const doc = await CourseModel.findById(code).lean<CourseDoc>();
  if (!doc) throw new NotFoundError(`No course with code ${code}.`);
  return view(doc);
}

export async function courseExists(code: string): Promise<boolean> {
  return (await CourseModel.exists({ _id: code })) !== null;
}

/** Which of these codes are courses. One query. */
export async function existingCourseCodes(codes: readonly string[]): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  const docs = await CourseModel.find({ _id: codes.length === 1 ? codes[0] : { $in: [...codes] } }, { _id: 1 }).lean<Array<{ _id: string }>>();
  return new Set(docs.map((d) => d._id));
}

export async function listCourses(page: PageRequest): Promise<Page<CourseView>> {
  const docs = await CourseModel.find(pageQuery(page, '_id')).sort({ _id: 1 }).limit(page.limit + 1).lean<CourseDoc[]>();
  return toPage(docs.map(view), page.limit, (c) => c.code);
}
