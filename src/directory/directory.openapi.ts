// The directory's part of the OpenAPI description (merged by src/openapi.ts). Parameters and request bodies are
// generated from the joi schemas the routes and services validate with.
import { pageQuerySchema } from '../platform/pagination.js';
import { openApiSchema, pathParameters, queryParameters, requestBody, type JsonSchema } from '../platform/openapi-schema.js';
import { fieldDefinitionBodySchema } from './field-definition.schema.js';
import { courseBodySchema } from './course.schema.js';
import { enrollmentBodySchema, enrollmentRecordSchema } from './enrollment.schema.js';
import { userPatchSchema, userRecordSchema, userReplaceSchema } from './user.schema.js';
import { courseParams, enrollmentBatchBody, enrollmentParams, fieldKeyParams, userBatchBody, userParams, userPatchBody, userReplaceBody, usersQuery } from './directory.schema.js';
import { MAX_BATCH_RECORDS } from './identifiers.js';
import { STANDARD_COLUMNS } from './users-csv.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = queryParameters(pageQuerySchema);
// The examples make one walk-through: the field `department`, the course `DRV-101`, the user `u-1001`. The field
// and the course are the demo data's (npm run seed), so trying their examples there changes nothing.
const examples = { key: 'department', code: 'DRV-101', externalId: 'u-1001' };
const departments = ['Sales', 'Operations', 'Engineering', 'Finance', 'People', 'Logistics', 'Customer Care'];
const keyParam = pathParameters(fieldKeyParams, examples);
const userParam = pathParameters(userParams, examples);
const codeParam = pathParameters(courseParams, examples);
const enrollmentParam = pathParameters(enrollmentParams, examples);
const errors = { 400: problem, 401: problem, 403: problem };
const upsert = (schema: string) => ({
  200: { description: 'Replaced (or unchanged: nothing is written)', content: json(ref(schema)) },
  201: { description: 'Created', content: json(ref(schema)) },
});
const batchAnswer = { 200: { description: 'Every valid record applied, every invalid one reported', content: json(ref('BatchResult')) } };
const tags = ['directory'];

const userExample = { email: 'ada.lovelace@example.org', firstName: 'Ada', lastName: 'Lovelace', type: 'learner', status: 'active', branch: 'London', fields: { department: 'Sales' } };
const userBatchExample = {
  users: [
    { externalId: 'u-1002', email: 'grace.hopper@example.org', firstName: 'Grace', lastName: 'Hopper', type: 'staff', branch: 'Paris', fields: { department: 'Customer Care' } },
    { externalId: 'u-1003', email: 'alan.turing@example.org', firstName: 'Alan', lastName: 'Turing', type: 'learner', status: 'inactive', fields: {} },
  ],
};

export const directoryOpenApi: Record<string, unknown> = {
  '/api/v1/fields': {
    get: { tags, operationId: 'listFieldDefinitions', summary: 'List field definitions', parameters: page, responses: { 200: { description: 'A page of definitions', content: json(ref('FieldDefinitionPage')) }, ...errors } },
  },
  '/api/v1/fields/{key}': {
    parameters: keyParam,
    get: { tags, operationId: 'getFieldDefinition', summary: 'One field definition', responses: { 200: { description: 'The definition', content: json(ref('FieldDefinition')) }, 404: problem, ...errors } },
    put: {
      tags,
      operationId: 'putFieldDefinition',
      summary: 'Create or change a field definition',
      description:
        'Values are never converted. A change that stored values would no longer fit (another type, a select losing an option in use) is refused with 409 naming how many users hold such values; a change they still fit (e.g. select → text) is accepted.',
      requestBody: requestBody(fieldDefinitionBodySchema, { component: 'FieldDefinitionInput', example: { label: 'Department', type: 'select', options: departments } }),
      responses: { ...upsert('FieldDefinition'), 409: problem, ...errors },
    },
    delete: {
      tags,
      operationId: 'deleteFieldDefinition',
      summary: 'Delete a field definition and remove its values from every user',
      description: 'Refused with 409 (listing the groups in `groups`) while a group rule reads the field.',
      responses: { 204: { description: 'Deleted' }, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/users': {
    get: {
      tags,
      operationId: 'listUsers',
      summary: 'List users, by externalId, optionally filtered',
      parameters: queryParameters(usersQuery),
      responses: { 200: { description: 'A page of users', content: json(ref('UserPage')) }, ...errors },
    },
  },
  '/api/v1/users/{externalId}': {
    parameters: userParam,
    get: { tags, operationId: 'getUser', summary: 'One user', responses: { 200: { description: 'The user', content: json(ref('User')) }, 404: problem, ...errors } },
    put: {
      tags,
      operationId: 'putUser',
      summary: 'Create or replace a user',
      description: 'The body is the whole user: `branch` or a field left out is removed. `status` defaults to active. 409 when another user has the email (case-insensitive).',
      requestBody: requestBody(userReplaceBody, { component: 'UserInput', example: userExample }),
      responses: { ...upsert('User'), 409: problem, 413: problem, 415: problem, ...errors },
    },
    patch: {
      tags,
      operationId: 'patchUser',
      summary: 'Change only what the body names',
      description: '`null` clears `branch` or a field; fields not named are kept.',
      requestBody: requestBody(userPatchBody, { component: 'UserPatch', example: { branch: 'Paris', fields: { department: 'Customer Care' } } }),
      responses: { 200: { description: 'The user after the change', content: json(ref('User')) }, 404: problem, 409: problem, 415: problem, ...errors },
    },
    delete: { tags, operationId: 'deleteUser', summary: 'Delete a user (and their enrolments); they leave every group', responses: { 204: { description: 'Deleted' }, 404: problem, ...errors } },
  },
  '/api/v1/users/{externalId}/enrollments': {
    parameters: userParam,
    get: { tags, operationId: 'listUserEnrollments', summary: "A user's enrolments, by course code", parameters: page, responses: { 200: { description: 'A page of enrolments', content: json(ref('EnrollmentPage')) }, 404: problem, ...errors } },
  },
  '/api/v1/users/batch': {
    post: {
      tags,
      operationId: 'batchUsers',
      summary: `Upsert up to ${MAX_BATCH_RECORDS} whole users by externalId (HR feeds)`,
      description:
        'Each record is a whole user (as PUT). Invalid records are reported by index and change nothing; records equal to what is stored count as unchanged and write nothing. Records of one batch sharing an externalId or an email are all refused. More records, or a body over 32 MB: 413.',
      requestBody: requestBody(userBatchBody, { component: 'UserBatch', example: userBatchExample }),
      responses: { ...batchAnswer, 413: problem, 415: problem, ...errors },
    },
  },
  '/api/v1/users/import': {
    post: {
      tags,
      operationId: 'importUsers',
      summary: 'Import users from CSV (at most 3 MB)',
      description: `A header row of columns: ${STANDARD_COLUMNS.join(', ')} (the first five but status and branch required) and fields.<key>. Quoted values, UTF-8 with or without BOM, CRLF or LF; an empty cell is no value; each row is a whole user, as in the batch. Errors name each row by line (the line of the file where the row starts, header = 1; a quoted value spanning lines counts each of its lines), not by index. An unknown column is a 400.`,
      requestBody: {
        required: true,
        content: { 'text/csv': { schema: { type: 'string' }, example: 'externalId,email,firstName,lastName,type,fields.department\nu-1004,edsger.dijkstra@example.org,Edsger,Dijkstra,learner,Engineering\n' } },
      },
      responses: { ...batchAnswer, 413: problem, 415: problem, ...errors },
    },
  },
  '/api/v1/courses': {
    get: { tags, operationId: 'listCourses', summary: 'List courses', parameters: page, responses: { 200: { description: 'A page of courses', content: json(ref('CoursePage')) }, ...errors } },
  },
  '/api/v1/courses/{code}': {
    parameters: codeParam,
    get: { tags, operationId: 'getCourse', summary: 'One course', responses: { 200: { description: 'The course', content: json(ref('Course')) }, 404: problem, ...errors } },
    put: {
      tags,
      operationId: 'putCourse',
      summary: 'Create or rename a course',
      requestBody: requestBody(courseBodySchema, { component: 'CourseInput', example: { title: 'Driver Safety' } }), responses: { ...upsert('Course'), 415: problem, ...errors } },
  },
  '/api/v1/courses/{code}/enrollments': {
    parameters: codeParam,
    get: { tags, operationId: 'listCourseEnrollments', summary: "A course's enrolments, by externalId", parameters: page, responses: { 200: { description: 'A page of enrolments', content: json(ref('EnrollmentPage')) }, 404: problem, ...errors } },
  },
  '/api/v1/courses/{code}/enrollments/{externalId}': {
    parameters: enrollmentParam,
    put: {
      tags,
      operationId: 'putEnrollment',
      summary: 'Enrol a user or change the enrolment',
      description: '404 names the course or the user that does not exist. enrolledAt is set at the first enrolment; completedAt when the status becomes completed, cleared when it moves away.',
      requestBody: requestBody(enrollmentBodySchema, {
        component: 'EnrollmentInput',
        example: { status: 'in_progress', role: 'student', class: 'Tutorial_1|THU|01:00PM|C05', cohort: '2026-spring', mode: 'internal' },
      }),
      responses: { ...upsert('Enrollment'), 404: problem, 415: problem, ...errors },
    },
    delete: { tags, operationId: 'deleteEnrollment', summary: 'Remove the enrolment', responses: { 204: { description: 'Removed' }, 404: problem, ...errors } },
  },
  '/api/v1/enrollments/batch': {
    post: {
      tags,
      operationId: 'batchEnrollments',
      summary: `Upsert up to ${MAX_BATCH_RECORDS} enrolments by (course, externalId)`,
      requestBody: requestBody(enrollmentBatchBody, {
        component: 'EnrollmentBatch',
        example: { enrollments: [{ course: 'DRV-101', externalId: 'u-1002', status: 'completed', role: 'instructor' }, { course: 'DRV-101', externalId: 'u-1003', status: 'subscribed' }] },
      }),
      responses: { ...batchAnswer, 413: problem, 415: problem, ...errors },
    },
  },
};

const timestamps = { createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' } };
const pageOf = (item: string) => ({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref(item) }, nextCursor: { type: ['string', 'null'] } } });
const propertiesOf = (schema: JsonSchema, ...names: string[]) => Object.fromEntries(names.map((n) => [n, (schema.properties as Record<string, JsonSchema>)[n]]));

const fieldDefinitionInput = openApiSchema(fieldDefinitionBodySchema);
const userRecord = openApiSchema(userRecordSchema);
const enrollmentRecord = openApiSchema(enrollmentRecordSchema);
const fieldValue = { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] };

export const directorySchemas: Record<string, unknown> = {
  FieldDefinitionInput: fieldDefinitionInput,
  FieldDefinition: {
    type: 'object',
    required: ['key', 'label', 'type'],
    properties: { key: { type: 'string' }, ...propertiesOf(fieldDefinitionInput, 'label', 'type'), options: { type: 'array', items: { type: 'string' } }, ...timestamps },
  },
  FieldDefinitionPage: pageOf('FieldDefinition'),
  UserInput: openApiSchema(userReplaceSchema),
  UserPatch: openApiSchema(userPatchSchema),
  UserBatch: openApiSchema(userBatchBody),
  User: {
    type: 'object',
    required: ['externalId', 'email', 'firstName', 'lastName', 'type', 'status', 'fields'],
    properties: {
      ...propertiesOf(userRecord, 'externalId', 'email', 'firstName', 'lastName', 'type', 'status'),
      branch: { type: 'string' },
      fields: { type: 'object', additionalProperties: fieldValue, description: 'Additional fields by key; dates as YYYY-MM-DD' },
      ...timestamps,
    },
  },
  UserPage: pageOf('User'),
  CourseInput: openApiSchema(courseBodySchema),
  Course: { type: 'object', required: ['code', 'title'], properties: { code: { type: 'string' }, title: { type: 'string' }, ...timestamps } },
  CoursePage: pageOf('Course'),
  EnrollmentInput: openApiSchema(enrollmentBodySchema),
  EnrollmentBatch: openApiSchema(enrollmentBatchBody),
  Enrollment: {
    type: 'object',
    required: ['course', 'externalId', 'status'],
    properties: {
      ...propertiesOf(enrollmentRecord, 'course', 'externalId', 'status', 'role', 'class', 'cohort', 'mode'),
      enrolledAt: { type: 'string', format: 'date-time' },
      completedAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      enrolledBy: { type: 'string', description: '`group:<id>` when a group made the enrolment (POST /groups/{id}/enroll, or joining a group with courses); only that group\'s unenroll removes it' },
    },
  },
  EnrollmentPage: pageOf('Enrollment'),
  BatchResult: {
    type: 'object',
    required: ['created', 'updated', 'unchanged', 'failed', 'errors'],
    properties: {
      created: { type: 'integer' },
      updated: { type: 'integer' },
      unchanged: { type: 'integer' },
      failed: { type: 'integer' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['errors'],
          properties: {
            index: { type: 'integer', description: 'JSON batches: position of the record in the array, from 0' },
            line: { type: 'integer', description: 'CSV imports (instead of index): the line of the file where the row starts, header = 1' },
            externalId: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string', description: 'Relative to the record, e.g. fields.hireDate' }, message: { type: 'string' } } } },
          },
        },
      },
    },
  },
};
