// The OpenAPI description of the member sources (members-sources.routes.ts), merged into groups.openapi.ts.
import { pathParameters, requestBody } from '../platform/openapi-schema.js';
import { groupParams } from './groups.schema.js';
import { copyBodySchema } from './members-sources.schema.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const errors = { 400: problem, 401: problem, 403: problem };
const tags = ['groups'];
const count = { type: 'integer', minimum: 0 };

const copyResult = {
  type: 'object',
  required: ['added', 'unchanged', 'excluded', 'inactive'],
  properties: {
    added: { ...count, description: 'Users who joined (source copy)' },
    unchanged: { ...count, description: 'Users who were members already, with any source' },
    excluded: { ...count, description: 'Users excluded from this group: not added' },
    inactive: { ...count, description: 'Inactive users, not added to an automatic group without includeInactive' },
  },
};

const importResult = {
  type: 'object',
  required: ['added', 'unchanged', 'failed', 'errors'],
  properties: {
    added: count,
    unchanged: { ...count, description: 'Rows naming a member already, or a user an earlier row named' },
    failed: count,
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['line', 'errors'],
        properties: {
          line: { type: 'integer', description: 'The line of the file where the row starts (header = 1)' },
          externalId: { type: 'string' },
          email: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
};

export const membersSourcesOpenApi: Record<string, unknown> = {
  '/api/v1/groups/{id}/members/copy': {
    parameters: pathParameters(groupParams),
    post: {
      tags,
      operationId: 'copyGroupMembers',
      summary: 'Copy the members of another group, or the users of a branch (source copy)',
      description:
        'Exactly one of `fromGroup` and `fromBranch` (both or neither: 400 naming both; an unknown `fromGroup`: 422). A branch\'s users are those ' +
        '`GET /users?branch=` lists; a branch nobody is in copies nothing. Users excluded from this group are not added, nor inactive users ' +
        'into an automatic group without includeInactive (counted apart). On an automatic group, copied members stay or leave at a sync by ' +
        'its manualMembers policy, as members added by hand do. Up to COPY_JOB_THRESHOLD users (default 2,000) the copy is done at once (200); ' +
        'a larger one runs as a job (202) whose result has the same counts. Copying again adds nothing.',
      requestBody: requestBody(copyBodySchema, { example: { fromBranch: 'Paris' } }),
      responses: {
        200: { description: 'Copied', content: json(copyResult) },
        202: { description: 'Queued; follow it at GET /api/v1/jobs/{jobId}', content: json({ $ref: '#/components/schemas/JobAccepted' }) },
        404: problem,
        422: problem,
        ...errors,
      },
    },
  },
  '/api/v1/groups/{id}/members/import': {
    parameters: pathParameters(groupParams),
    post: {
      tags,
      operationId: 'importGroupMembers',
      summary: 'CSV association upload: add the users a CSV lists (source csv; at most 3 MB)',
      description:
        'A header row with an `externalId` or an `email` column, or both (neither: 400); other columns are ignored, so a members.csv export ' +
        'can be sent back. Emails match case-insensitively; with both cells filled the email must be that user\'s. Every row naming a user who ' +
        'may join is applied; a row naming no user, an excluded user, or an inactive one (automatic group without includeInactive) fails ' +
        'alone, named by its line (header = 1). Blank lines are skipped; a user named again on a later row counts as unchanged. Sending the ' +
        'same file again changes nothing. Works on manual and automatic groups (on an automatic group the manualMembers policy decides what ' +
        'a sync does with these members).',
      requestBody: {
        required: true,
        content: { 'text/csv': { schema: { type: 'string' }, example: 'externalId,email\nu-1001,\n,Grace.Hopper@example.org\n' } },
      },
      responses: { 200: { description: 'Every valid row applied, every other reported', content: json(importResult) }, 404: problem, 413: problem, 415: problem, ...errors },
    },
  },
};
