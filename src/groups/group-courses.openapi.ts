// The OpenAPI description of a group's courses (group-courses.routes.ts), merged into the groups' part.
import { pathParameters } from '../platform/openapi-schema.js';
import { groupCourseParams, groupParams } from './groups.schema.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { 400: problem, 401: problem, 403: problem };
const accepted = { 202: { description: 'Queued; follow it at GET /api/v1/jobs/{jobId}', content: json(ref('JobAccepted')) } };
const tags = ['groups'];

export const groupCoursesOpenApi: Record<string, unknown> = {
  '/api/v1/groups/{id}/courses/{code}': {
    parameters: pathParameters(groupCourseParams, { code: 'DRV-101' }),
    put: {
      tags,
      operationId: 'attachGroupCourse',
      summary: 'Attach a course to the group (idempotent)',
      description:
        'From then on every user who joins the group, by any source, is enrolled in the course as `subscribed` as they join. Members already in the group are enrolled by POST /groups/{id}/enroll. 404 names the group or the course that does not exist.',
      responses: { 200: { description: 'The group', content: json(ref('Group')) }, 404: problem, ...errors },
    },
    delete: {
      tags,
      operationId: 'detachGroupCourse',
      summary: 'Detach a course from the group (idempotent)',
      description: 'Enrolments stay as they are: run POST /groups/{id}/unenroll before detaching to remove those the group made.',
      responses: { 204: { description: 'Detached (or was not attached)' }, 404: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/enroll': {
    parameters: pathParameters(groupParams),
    post: {
      tags,
      operationId: 'enrollGroup',
      summary: "Enrol every member in every one of the group's courses (a job)",
      description:
        'Each member without an enrolment in a course is enrolled as `subscribed`, marked `enrolledBy: group:<id>`; an existing enrolment is left exactly as it is. Idempotent; the job result counts `enrolled`, `unchanged` and `failed` (users deleted meanwhile).',
      responses: { ...accepted, 404: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/unenroll': {
    parameters: pathParameters(groupParams),
    post: {
      tags,
      operationId: 'unenrollGroup',
      summary: 'Remove the enrolments the group made (a job)',
      description:
        "For each member and course: the enrolment is removed only if this group made it (`enrolledBy`) and it has not reached `completed`; a user's own enrolment, another group's, a completion, and the enrolment of a user who is also a member of another group carrying the course stay. The job result counts `removed` and `kept`.",
      responses: { ...accepted, 404: problem, ...errors },
    },
  },
};
