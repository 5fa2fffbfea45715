// The directory's HTTP surface: field definitions, users (one at a time, batch, CSV), courses and enrolments.
// Each route reads as permission → validation → service → response.
import { Router, type Request, type RequestHandler } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf, requirePermission } from '../platform/auth.js';
import { alongsideScreen, hasBody, joiErrors, screenInput, validate, withRequestSchemas } from '../platform/validate.js';
import { csvOnly, csvText } from '../platform/csv-body.js';
import { pageQuerySchema, pageRequest } from '../platform/pagination.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError, type FieldError } from '../platform/errors.js';
import type { WriteContext } from './user-writes.js';
import { MAX_BATCH_RECORDS } from './identifiers.js';
import {
  courseParams,
  enrollmentBatchBody,
  enrollmentParams,
  fieldKeyParams,
  userBatchBody,
  userParams,
  userPatchBody,
  userReplaceBody,
  usersQuery,
} from './directory.schema.js';
import { fieldDefinitionBodySchema, type FieldDefinitionInput } from './field-definition.schema.js';
import { courseBodySchema, type CourseInput } from './course.schema.js';
import { enrollmentBodySchema, type EnrollmentInput } from './enrollment.schema.js';
import {
  deleteFieldDefinition,
  getFieldDefinition,
  listFieldDefinitions,
  loadFieldDefinitions,
  putFieldDefinition,
} from './field-definitions.service.js';
import { deleteUser, getUser, listUsers, patchUser, putUser } from './users.service.js';
import { applyUserBatch } from './user-batch.service.js';
import { parseUsersCsv } from './users-csv.js';
import { searchUserViews } from './user-lookup.js';
import { getCourse, listCourses, putCourse } from './courses.service.js';
import { deleteEnrollment, listCourseEnrollments, listUserEnrollments, putEnrollment } from './enrollments.service.js';
import { applyEnrollmentBatch } from './enrollment-batch.service.js';

export { directoryOpenApi, directorySchemas } from './directory.openapi.js';

const keyParams = fieldKeyParams;

/**
 * The body of a batch: `{ "<list>": [ ...records ] }`. Only the envelope is checked here; each record is checked
 * on its own by the service, so that one bad record fails alone. More than 10,000 records is a 413.
 */
function batchBody(list: 'users' | 'enrollments'): RequestHandler {
  const envelope = list === 'users' ? userBatchBody : enrollmentBatchBody;
  return withRequestSchemas((req, _res, next) => {
    if (hasBody(req) && !req.is('application/json')) throw new UnsupportedMediaTypeError('Send the batch as application/json.');
    const body: unknown = req.body ?? {};
    const records = (body as Record<string, unknown>)[list];
    if (Array.isArray(records) && records.length > MAX_BATCH_RECORDS) {
      throw new PayloadTooLargeError(`A batch holds at most ${MAX_BATCH_RECORDS} records; this one has ${records.length}.`);
    }
    // The envelope is screened without its records, which the service screens one by one; joi sees them as [].
    const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
    const screened = screenInput(isObject ? Object.fromEntries(Object.entries(body).filter(([k]) => k !== list)) : body);
    const envelopeOnly = isObject && records !== undefined ? { ...(screened.value as object), [list]: Array.isArray(records) ? [] : records } : screened.value;
    const { error } = envelope.validate(envelopeOnly, { abortEarly: false, convert: false });
    const errors: FieldError[] = alongsideScreen(screened.errors, error ? joiErrors(error) : []);
    if (errors.length) throw new ValidationError(`The batch envelope is not valid.`, errors);
    next();
  }, { body: envelope });
}

const csvUsersOnly = csvOnly('the users');

export function directoryRoutes(deps: RouteDeps): Router {
  const router = Router();
  const ctx = (req: Request): WriteContext => ({ actor: actorOf(req.principal), logger: deps.logger });
  const params = <T>(res: { locals: Record<string, unknown> }) => res.locals.params as T;

  // Field definitions
  router.get('/fields', requirePermission('fields:read'), validate({ query: pageQuerySchema }), async (_req, res) => {
    res.json(await listFieldDefinitions(pageRequest(res.locals.query)));
  });
  router.get('/fields/:key', requirePermission('fields:read'), validate({ params: keyParams }), async (_req, res) => {
    res.json(await getFieldDefinition(params<{ key: string }>(res).key));
  });
  router.put('/fields/:key', requirePermission('fields:write'), validate({ params: keyParams, body: fieldDefinitionBodySchema }), async (req, res) => {
    const { key } = params<{ key: string }>(res);
    const { definition, created } = await putFieldDefinition(key, req.body as FieldDefinitionInput);
    if (created) res.location(`/api/v1/fields/${key}`);
    res.status(created ? 201 : 200).json(definition);
  });
  router.delete('/fields/:key', requirePermission('fields:write'), validate({ params: keyParams }), async (req, res) => {
    await deleteFieldDefinition(params<{ key: string }>(res).key, ctx(req));
    res.status(204).end();
  });

  // Users: batch and import first, so that their paths are never read as an externalId.
  router.post('/users/batch', requirePermission('users:write'), batchBody('users'), async (req, res) => {
    res.json(await applyUserBatch((req.body as { users: unknown[] }).users, ctx(req)));
  });
  router.post('/users/import', requirePermission('users:write'), csvUsersOnly, csvText, async (req, res) => {
    const defs = await loadFieldDefinitions();
    const { records, rejected, lines } = parseUsersCsv(typeof req.body === 'string' ? req.body : '', defs);
    res.json(await applyUserBatch(records, ctx(req), { rejected, definitions: defs, lines }));
  });
  router.get('/users', requirePermission('users:read'), validate({ query: usersQuery }), async (_req, res) => {
    const { email, branch, limit, cursor, q, ...rest } = res.locals.query as Record<string, string | number | undefined>;
    if (q !== undefined) {
      if (Object.keys(rest).length) throw new ValidationError('q finds people by name, email or id; it is not combined with other filters.', Object.keys(rest).map((k) => ({ path: k, message: 'is not combined with q' })));
      res.json({ items: await searchUserViews(String(q), (limit as number | undefined) ?? 50), nextCursor: null });
      return;
    }
    const fields = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k.slice('field.'.length), String(v)]));
    res.json(
      await listUsers(
        { ...(email !== undefined ? { email: String(email) } : {}), ...(branch !== undefined ? { branch: String(branch) } : {}), fields },
        pageRequest({ limit: limit as number | undefined, cursor: cursor as string | undefined }),
      ),
    );
  });
  router.get('/users/:externalId', requirePermission('users:read'), validate({ params: userParams }), async (_req, res) => {
    res.json(await getUser(params<{ externalId: string }>(res).externalId));
  });
  router.put('/users/:externalId', requirePermission('users:write'), validate({ params: userParams, body: userReplaceBody }), async (req, res) => {
    const { externalId } = params<{ externalId: string }>(res);
    const { user, created } = await putUser(externalId, req.body, ctx(req));
    if (created) res.location(`/api/v1/users/${encodeURIComponent(externalId)}`);
    res.status(created ? 201 : 200).json(user);
  });
  router.patch('/users/:externalId', requirePermission('users:write'), validate({ params: userParams, body: userPatchBody }), async (req, res) => {
    res.json(await patchUser(params<{ externalId: string }>(res).externalId, req.body, ctx(req)));
  });
  router.delete('/users/:externalId', requirePermission('users:write'), validate({ params: userParams }), async (req, res) => {
    await deleteUser(params<{ externalId: string }>(res).externalId, ctx(req));
    res.status(204).end();
  });
  router.get('/users/:externalId/enrollments', requirePermission('enrollments:read'), validate({ params: userParams, query: pageQuerySchema }), async (_req, res) => {
    res.json(await listUserEnrollments(params<{ externalId: string }>(res).externalId, pageRequest(res.locals.query)));
  });

  // Courses and enrolments
  router.get('/courses', requirePermission('courses:read'), validate({ query: pageQuerySchema }), async (_req, res) => {
    res.json(await listCourses(pageRequest(res.locals.query)));
  });
  router.get('/courses/:code', requirePermission('courses:read'), validate({ params: courseParams }), async (_req, res) => {
    res.json(await getCourse(params<{ code: string }>(res).code));
  });
  router.put('/courses/:code', requirePermission('courses:write'), validate({ params: courseParams, body: courseBodySchema }), async (req, res) => {
    const { code } = params<{ code: string }>(res);
    const { course, created } = await putCourse(code, req.body as CourseInput);
    if (created) res.location(`/api/v1/courses/${code}`);
    res.status(created ? 201 : 200).json(course);
  });
  router.get('/courses/:code/enrollments', requirePermission('enrollments:read'), validate({ params: courseParams, query: pageQuerySchema }), async (_req, res) => {
    res.json(await listCourseEnrollments(params<{ code: string }>(res).code, pageRequest(res.locals.query)));
  });
  router.put(
    '/courses/:code/enrollments/:externalId',
    requirePermission('enrollments:write'),
    validate({ params: enrollmentParams, body: enrollmentBodySchema }),
    async (req, res) => {
      const { code, externalId } = params<{ code: string; externalId: string }>(res);
      const { enrollment, created } = await putEnrollment(code, externalId, req.body as EnrollmentInput, ctx(req));
      if (created) res.location(`/api/v1/courses/${code}/enrollments/${encodeURIComponent(externalId)}`);
      res.status(created ? 201 : 200).json(enrollment);
    },
  );
  router.delete('/courses/:code/enrollments/:externalId', requirePermission('enrollments:write'), validate({ params: enrollmentParams }), async (req, res) => {
    const { code, externalId } = params<{ code: string; externalId: string }>(res);
    await deleteEnrollment(code, externalId, ctx(req));
    res.status(204).end();
  });
  router.post('/enrollments/batch', requirePermission('enrollments:write'), batchBody('enrollments'), async (req, res) => {
    res.json(await applyEnrollmentBatch((req.body as { enrollments: unknown[] }).enrollments, ctx(req)));
  });

  return router;
}
