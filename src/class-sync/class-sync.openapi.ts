// The class group sync's part of the OpenAPI description (merged by src/openapi.ts), generated from its joi schema.
import { openApiSchema, pathParameters, requestBody } from '../platform/openapi-schema.js';
import { courseParams } from '../directory/directory.schema.js';
import { classSyncBodySchema } from './class-sync.schema.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { 400: problem, 401: problem, 403: problem };
const tags = ['class group sync'];
const date = { type: ['string', 'null'], format: 'date-time' };

export const classSyncOpenApi: Record<string, unknown> = {
  '/api/v1/courses/{code}/class-sync': {
    parameters: pathParameters(courseParams, { code: 'DRV-101' }),
    get: {
      tags,
      operationId: 'getClassSync',
      summary: "A course's class group sync",
      description: '`state` is `ended` once `syncUntil` has passed (`endsAt` or 5 months after `enabledAt`, whichever comes first). A course never configured answers `disabled`. 404 when there is no such course.',
      responses: { 200: { description: 'The settings, the last sync and how many class groups the course has', content: json(ref('ClassSync')) }, 404: problem, ...errors },
    },
    put: {
      tags,
      operationId: 'putClassSync',
      summary: "Turn a course's class group sync on or off",
      description:
        'While active, every sync keeps, scoped to the course, one group per class (`[<class>]`), one per cohort (`[<cohort>]`), and `[Internal]` and `[External]`, from the ' +
        "course's student enrolments, with membership source `class`. It runs at enabling (`jobId`), nightly, on POST /groups/{id}/sync of any of those groups, and when an " +
        'enrolment of the course changes. A learner added by hand to one is removed at the next sync; staff stay. The groups are protected: only an admin deletes them. ' +
        'Turning it off, or passing `syncUntil`, leaves groups and members as they are. A PUT that leaves it on keeps `enabledAt`.',
      requestBody: requestBody(classSyncBodySchema, { component: 'ClassSyncInput', example: { enabled: true, endsAt: '2027-06-30T00:00:00.000Z' } }),
      responses: {
        200: { description: 'Changed (with `jobId` when turning it on started a sync)', content: json(ref('ClassSync')) },
        201: { description: 'First set for the course (with `jobId` when it started a sync)', content: json(ref('ClassSync')) },
        404: problem,
        415: problem,
        ...errors,
      },
    },
  },
};

export const classSyncSchemas: Record<string, unknown> = {
  ClassSyncInput: openApiSchema(classSyncBodySchema),
  ClassSync: {
    type: 'object',
    required: ['course', 'enabled', 'enabledAt', 'endsAt', 'syncUntil', 'state', 'lastSyncAt', 'groups'],
    properties: {
      course: { type: 'string' },
      enabled: { type: 'boolean' },
      enabledAt: { ...date, description: 'When it was last turned on' },
      endsAt: date,
      syncUntil: { ...date, description: '`endsAt` or 5 months after `enabledAt`, whichever comes first' },
      state: { type: 'string', enum: ['active', 'ended', 'disabled'] },
      lastSyncAt: date,
      groups: { type: 'integer', description: "The course's class groups" },
      lastError: { type: 'string', description: 'Why the last sync held removals (the safety valve)' },
      heldRemovals: { type: 'integer' },
      jobId: { type: 'string', description: 'The sync that turning it on started (PUT only)' },
    },
  },
};
