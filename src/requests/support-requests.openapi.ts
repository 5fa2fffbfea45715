// The support requests' part of the OpenAPI description (merged by src/openapi.ts), generated from the joi
// schemas the routes validate with.
import { openApiSchema, pathParameters, queryParameters, requestBody } from '../platform/openapi-schema.js';
import { REQUEST_STATUSES } from './support-request.model.js';
import { createRequestSchema, patchRequestSchema, requestListQuery, requestParams } from './support-requests.schema.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { 400: problem, 401: problem, 403: problem };
const tags = ['requests'];

/** Valid on an empty directory: a rule on the user's standard fields only. */
const requestExample = {
  title: 'Group for learners of the Melbourne branch',
  description: 'Please keep a group of every active learner in the Melbourne branch, for the onboarding newsletter.',
  requestedBy: 'jane.doe@example.com',
  draftRule: { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'learner' }, { fact: 'user', path: '$.branch', operator: 'equal', value: 'Melbourne' }] } },
};

export const requestsOpenApi: Record<string, unknown> = {
  '/api/v1/requests': {
    post: {
      tags,
      operationId: 'createSupportRequest',
      summary: 'Ask support staff for an automated group',
      description:
        'Created `open`, with a timeline of one `created` entry. A draft rule is checked like POST /rules/validate and stored whatever the result, with its errors in `draftRuleErrors` (empty when valid) and its warnings in `draftRuleWarnings`. Needs requests:write (admin, support).',
      requestBody: requestBody(createRequestSchema, { component: 'SupportRequestInput', example: requestExample }),
      responses: { 201: { description: 'Created', content: json(ref('SupportRequest')) }, ...errors },
    },
    get: {
      tags,
      operationId: 'listSupportRequests',
      summary: 'Support requests, oldest first',
      description: 'Needs requests:read (admin, support, viewer).',
      parameters: queryParameters(requestListQuery),
      responses: { 200: { description: 'A page of requests', content: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('SupportRequest') }, nextCursor: { type: ['string', 'null'] } } }) }, ...errors },
    },
  },
  '/api/v1/requests/{id}': {
    parameters: pathParameters(requestParams, { id: 'req_018f2a3b4c5d1a2b3c4d' }),
    get: {
      tags,
      operationId: 'getSupportRequest',
      summary: 'One support request, with its timeline',
      responses: { 200: { description: 'The request', content: json(ref('SupportRequest')) }, 404: problem, ...errors },
    },
    patch: {
      tags,
      operationId: 'updateSupportRequest',
      summary: 'Move a request on, link its group, add a note, or replace its draft rule',
      description:
        'Statuses: `open` → `in_progress` | `done` | `rejected`; `in_progress` → `open` | `done` | `rejected`; `done` → `in_progress` (reopened: its group needs more work); `rejected` → `open` (reconsidered). ' +
        'Any other move is a 409 naming the moves allowed. `done` needs a `groupId` of an existing group, given here or already on the request (missing: 400; no such group: 422). ' +
        'Staying in a status is not a move: a PATCH may only add a note, link a group or replace the draft rule. Every change adds one timeline entry with the actor and time (a PATCH that changes nothing adds none). ' +
        '`draftRule` is an extension of the contract: checked again like at creation; null removes it.',
      requestBody: requestBody(patchRequestSchema, { component: 'SupportRequestPatch', example: { status: 'in_progress', note: 'Taken up; checking the branch names in the directory.' } }),
      responses: { 200: { description: 'The request as changed', content: json(ref('SupportRequest')) }, 404: problem, 409: problem, 422: problem, ...errors },
    },
  },
};

const status = { type: 'string', enum: [...REQUEST_STATUSES] };
const issues = { type: 'array', items: ref('RuleIssue') };

export const requestsSchemas: Record<string, unknown> = {
  SupportRequestInput: openApiSchema(createRequestSchema),
  SupportRequestPatch: openApiSchema(patchRequestSchema),
  SupportRequest: {
    type: 'object',
    required: ['id', 'title', 'description', 'requestedBy', 'status', 'timeline', 'createdBy', 'createdAt', 'updatedAt'],
    properties: {
      id: { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      requestedBy: { type: 'string' },
      status,
      draftRule: { description: 'The draft rule as sent (valid or not)' },
      draftRuleErrors: { ...issues, description: 'Present with a draft rule: its errors, empty when it is valid' },
      draftRuleWarnings: { ...issues, description: 'What in the draft rule may not be meant (e.g. a course that does not exist yet)' },
      groupId: { type: 'string', description: 'The group the request produced' },
      timeline: { type: 'array', items: ref('SupportRequestEvent') },
      createdBy: { type: 'string', description: 'The key that created it' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  SupportRequestEvent: {
    type: 'object',
    required: ['at', 'actor', 'event', 'status'],
    properties: {
      at: { type: 'string', format: 'date-time' },
      actor: { type: 'string', description: 'The key that made the change: `key:<name> (<id>)`' },
      event: { type: 'string', enum: ['created', 'changed'] },
      status: { ...status, description: 'The status after the change' },
      from: { ...status, description: 'The status before, when the change moved it' },
      groupId: { type: ['string', 'null'], description: 'The group linked (null: unlinked), when the change set it' },
      note: { type: 'string' },
      draftRule: { type: 'string', enum: ['set', 'cleared'], description: 'When the change replaced or removed the draft rule' },
    },
  },
};
