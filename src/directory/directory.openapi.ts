// The directory's part of the OpenAPI description (merged by src/openapi.ts).
import { FIELD_TYPES, MAX_SELECT_OPTIONS } from './field-definition.schema.js';
import { USER_STATUSES, USER_TYPES } from './user.schema.js';
import { ENROLLMENT_MODES, ENROLLMENT_ROLES, ENROLLMENT_STATUSES } from './enrollment.schema.js';
import { COURSE_CODE_PATTERN, EXTERNAL_ID_PATTERN, FIELD_KEY_PATTERN, MAX_BATCH_RECORDS } from './identifiers.js';
import { STANDARD_COLUMNS } from './users-csv.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = [{ $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }];
const pathParam = (name: string, pattern: RegExp, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string', pattern: pattern.source } });
const keyParam = pathParam('key', FIELD_KEY_PATTERN, 'The field key');
const userParam = pathParam('externalId', EXTERNAL_ID_PATTERN, "The user's externalId");
const codeParam = pathParam('code', COURSE_CODE_PATTERN, 'The course code');
const errors = { 400: problem, 401: problem, 403: problem };
const upsert = (schema: string) => ({
  200: { description: 'Replaced (or unchanged: nothing is written)', content: json(ref(schema)) },
  201: { description: 'Created', content: json(ref(schema)) },
});
const batchAnswer = { 200: { description: 'Every valid record applied, every invalid one reported', content: json(ref('BatchResult')) } };

export const directoryOpenApi: Record<string, unknown> = {
  '/api/v1/fields': {
    get: { tags: ['directory'], summary: 'List field definitions', parameters: page, responses: { 200: { description: 'A page of definitions', content: json(ref('FieldDefinitionPage')) }, ...errors } },
  },
  '/api/v1/fields/{key}': {
    parameters: [keyParam],
    get: { tags: ['directory'], summary: 'One field definition', responses: { 200: { description: 'The definition', content: json(ref('FieldDefinition')) }, 404: problem, ...errors } },
    put: {
      tags: ['directory'],
      summary: 'Create or change a field definition',
      description:
        'Values are never converted. A change that stored values would no longer fit (another type, a select losing an option in use) is refused with 409 naming how many users hold such values; a change they still fit (e.g. select → text) is accepted.',
      requestBody: { required: true, content: json(ref('FieldDefinitionInput')) },
      responses: { ...upsert('FieldDefinition'), 409: problem, ...errors },
    },
    delete: {
      tags: ['directory'],
      summary: 'Delete a field definition and remove its values from every user',
      description: 'Refused with 409 (listing the groups in `groups`) while a group rule reads the field.',
      responses: { 204: { description: 'Deleted' }, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/users': {
    get: {
      tags: ['directory'],
      summary: 'List users, by externalId, optionally filtered',
      parameters: [
        { name: 'email', in: 'query', description: 'Exact email, case-insensitive', schema: { type: 'string' } },
        { name: 'branch', in: 'query', schema: { type: 'string' } },
        { name: 'field.<key>', in: 'query', description: 'Exact value of an additional field (converted by its type: number, true/false, YYYY-MM-DD)', schema: { type: 'string' } },
        ...page,
      ],
      responses: { 200: { description: 'A page of users', content: json(ref('UserPage')) }, ...errors },
    },
  },
  '/api/v1/users/{externalId}': {
    parameters: [userParam],
    get: { tags: ['directory'], summary: 'One user', responses: { 200: { description: 'The user', content: json(ref('User')) }, 404: problem, ...errors } },
    put: {
      tags: ['directory'],
      summary: 'Create or replace a user',
      description: 'The body is the whole user: `branch` or a field left out is removed. `status` defaults to active. 409 when another user has the email (case-insensitive).',
      requestBody: { required: true, content: json(ref('UserInput')) },
      responses: { ...upsert('User'), 409: problem, 413: problem, 415: problem, ...errors },
    },
    patch: {
      tags: ['directory'],
      summary: 'Change only what the body names',
      description: '`null` clears `branch` or a field; fields not named are kept.',
      requestBody: { required: true, content: json(ref('UserPatch')) },
      responses: { 200: { description: 'The user after the change', content: json(ref('User')) }, 404: problem, 409: problem, 415: problem, ...errors },
    },
    delete: { tags: ['directory'], summary: 'Delete a user (and their enrolments); they leave every group', responses: { 204: { description: 'Deleted' }, 404: problem, ...errors } },
  },
  '/api/v1/users/{externalId}/enrollments': {
    parameters: [userParam],
    get: { tags: ['directory'], summary: "A user's enrolments, by course code", parameters: page, responses: { 200: { description: 'A page of enrolments', content: json(ref('EnrollmentPage')) }, 404: problem, ...errors } },
  },
  '/api/v1/users/batch': {
    post: {
      tags: ['directory'],
      summary: `Upsert up to ${MAX_BATCH_RECORDS} whole users by externalId (HR feeds)`,
      description:
        'Each record is a whole user (as PUT). Invalid records are reported by index and change nothing; records equal to what is stored count as unchanged and write nothing. Records of one batch sharing an externalId or an email are all refused. More records, or a body over 32 MB: 413.',
      requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, required: ['users'], properties: { users: { type: 'array', maxItems: MAX_BATCH_RECORDS, items: ref('UserRecord') } } }) },
      responses: { ...batchAnswer, 413: problem, 415: problem, ...errors },
    },
  },
  '/api/v1/users/import': {
    post: {
      tags: ['directory'],
      summary: 'Import users from CSV (at most 3 MB)',
      description: `A header row of columns: ${STANDARD_COLUMNS.join(', ')} (the first five but status and branch required) and fields.<key>. Quoted values, UTF-8 with or without BOM, CRLF or LF; an empty cell is no value; each row is a whole user, as in the batch. Errors name each row by line (the line of the file where the row starts, header = 1; a quoted value spanning lines counts each of its lines), not by index. An unknown column is a 400.`,
      requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
      responses: { ...batchAnswer, 413: problem, 415: problem, ...errors },
    },
  },
  '/api/v1/courses': {
    get: { tags: ['directory'], summary: 'List courses', parameters: page, responses: { 200: { description: 'A page of courses', content: json(ref('CoursePage')) }, ...errors } },
  },
  '/api/v1/courses/{code}': {
    parameters: [codeParam],
    get: { tags: ['directory'], summary: 'One course', responses: { 200: { description: 'The course', content: json(ref('Course')) }, 404: problem, ...errors } },
    put: { tags: ['directory'], summary: 'Create or rename a course', requestBody: { required: true, content: json(ref('CourseInput')) }, responses: { ...upsert('Course'), 415: problem, ...errors } },
  },
  '/api/v1/courses/{code}/enrollments': {
    parameters: [codeParam],
    get: { tags: ['directory'], summary: "A course's enrolments, by externalId", parameters: page, responses: { 200: { description: 'A page of enrolments', content: json(ref('EnrollmentPage')) }, 404: problem, ...errors } },
  },
  '/api/v1/courses/{code}/enrollments/{externalId}': {
    parameters: [codeParam, userParam],
    put: {
      tags: ['directory'],
      summary: 'Enrol a user or change the enrolment',
      description: '404 names the course or the user that does not exist. enrolledAt is set at the first enrolment; completedAt when the status becomes completed, cleared when it moves away.',
      requestBody: { required: true, content: json(ref('EnrollmentInput')) },
      responses: { ...upsert('Enrollment'), 404: problem, 415: problem, ...errors },
    },
    delete: { tags: ['directory'], summary: 'Remove the enrolment', responses: { 204: { description: 'Removed' }, 404: problem, ...errors } },
  },
  '/api/v1/enrollments/batch': {
    post: {
      tags: ['directory'],
      summary: `Upsert up to ${MAX_BATCH_RECORDS} enrolments by (course, externalId)`,
      requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, required: ['enrollments'], properties: { enrollments: { type: 'array', maxItems: MAX_BATCH_RECORDS, items: ref('EnrollmentRecord') } } }) },
      responses: { ...batchAnswer, 413: problem, 415: problem, ...errors },
    },
  },
};

const timestamps = { createdAt: { type: 'string', format: 'date-time', readOnly: true }, updatedAt: { type: 'string', format: 'date-time', readOnly: true } };
const fieldValue = { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] };
const userAttributes = {
  email: { type: 'string', format: 'email', maxLength: 254 },
  firstName: { type: 'string', minLength: 1, maxLength: 200 },
  lastName: { type: 'string', minLength: 1, maxLength: 200 },
  type: { type: 'string', enum: [...USER_TYPES] },
  status: { type: 'string', enum: [...USER_STATUSES], default: 'active' },
  branch: { type: ['string', 'null'], minLength: 1, maxLength: 200 },
  fields: { type: 'object', description: 'Additional fields, each checked against its definition; dates as YYYY-MM-DD', additionalProperties: fieldValue },
};
const enrollmentAttributes = {
  status: { type: 'string', enum: [...ENROLLMENT_STATUSES] },
  role: { type: 'string', enum: [...ENROLLMENT_ROLES], default: 'student' },
  class: { type: ['string', 'null'], maxLength: 200 },
  cohort: { type: ['string', 'null'], maxLength: 200 },
  mode: { type: ['string', 'null'], enum: [...ENROLLMENT_MODES, null] },
};
const pageOf = (item: string) => ({ type: 'object', properties: { items: { type: 'array', items: ref(item) }, nextCursor: { type: ['string', 'null'] } } });

export const directorySchemas: Record<string, unknown> = {
  FieldDefinitionInput: {
    type: 'object',
    required: ['label', 'type'],
    additionalProperties: false,
    properties: {
      label: { type: 'string', minLength: 1, maxLength: 200 },
      type: { type: 'string', enum: [...FIELD_TYPES] },
      options: { type: 'array', description: 'Required for select, refused otherwise', minItems: 1, maxItems: MAX_SELECT_OPTIONS, uniqueItems: true, items: { type: 'string' } },
    },
  },
  FieldDefinition: { allOf: [ref('FieldDefinitionInput'), { type: 'object', properties: { key: { type: 'string', pattern: FIELD_KEY_PATTERN.source }, ...timestamps } }] },
  FieldDefinitionPage: pageOf('FieldDefinition'),
  UserInput: {
    type: 'object',
    required: ['email', 'firstName', 'lastName', 'type'],
    additionalProperties: false,
    properties: { externalId: { type: 'string', description: 'Optional; must match the path' }, ...userAttributes, ...timestamps },
  },
  UserPatch: { type: 'object', additionalProperties: false, properties: { ...userAttributes, fields: { ...userAttributes.fields, description: 'Merged; null clears a field' } } },
  UserRecord: {
    type: 'object',
    required: ['externalId', 'email', 'firstName', 'lastName', 'type'],
    additionalProperties: false,
    properties: { externalId: { type: 'string', pattern: EXTERNAL_ID_PATTERN.source }, ...userAttributes },
  },
  User: {
    type: 'object',
    required: ['externalId', 'email', 'firstName', 'lastName', 'type', 'status', 'fields'],
    properties: { externalId: { type: 'string' }, ...userAttributes, branch: { type: 'string' }, ...timestamps },
  },
  UserPage: pageOf('User'),
  CourseInput: { type: 'object', required: ['title'], additionalProperties: false, properties: { title: { type: 'string', minLength: 1, maxLength: 300 } } },
  Course: { type: 'object', properties: { code: { type: 'string', pattern: COURSE_CODE_PATTERN.source }, title: { type: 'string' }, ...timestamps } },
  CoursePage: pageOf('Course'),
  EnrollmentInput: { type: 'object', required: ['status'], additionalProperties: false, properties: enrollmentAttributes },
  EnrollmentRecord: {
    type: 'object',
    required: ['course', 'externalId', 'status'],
    additionalProperties: false,
    properties: { course: { type: 'string', pattern: COURSE_CODE_PATTERN.source }, externalId: { type: 'string', pattern: EXTERNAL_ID_PATTERN.source }, ...enrollmentAttributes },
  },
  Enrollment: {
    type: 'object',
    properties: {
      course: { type: 'string' },
      externalId: { type: 'string' },
      ...enrollmentAttributes,
      enrolledAt: { type: 'string', format: 'date-time' },
      completedAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
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
