// The groups' part of the OpenAPI description (merged by src/openapi.ts).
import { EXTERNAL_ID_PATTERN } from '../directory/identifiers.js';
import { MEMBERSHIP_SOURCES } from '../membership/membership.model.js';
import { SYNC_STATES } from '../membership/group-state.model.js';
import { GROUP_ID_PATTERN } from './groups.schema.js';
import { GROUP_TYPES, MANUAL_MEMBER_POLICIES } from './group.model.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = [{ $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }];
const errors = { 400: problem, 401: problem, 403: problem };
const idParam = { name: 'id', in: 'path', required: true, description: 'The group id', schema: { type: 'string', pattern: GROUP_ID_PATTERN.source } };
const userParam = { name: 'externalId', in: 'path', required: true, description: "The user's externalId", schema: { type: 'string', pattern: EXTERNAL_ID_PATTERN.source } };
const accepted = { 202: { description: 'Queued; follow it at GET /api/v1/jobs/{jobId}', content: json(ref('JobAccepted')) } };
const pageOf = (item: string) => ({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref(item) }, nextCursor: { type: ['string', 'null'] } } });
const tags = ['groups'];

export const groupsOpenApi: Record<string, unknown> = {
  '/api/v1/groups': {
    post: {
      tags,
      summary: 'Create a group',
      description:
        'An automatic group needs a rule (checked like POST /rules/validate; errors are placed under `rule.`); it starts at rule version 1 and a sync of the group is queued (`jobId`). Names are unique (case-insensitive).',
      requestBody: { required: true, content: json(ref('GroupInput')) },
      responses: { 201: { description: 'Created (with `jobId` of its first sync, and `warnings` about the rule, if any)', content: json(ref('Group')) }, 409: problem, ...errors },
    },
    get: {
      tags,
      summary: 'List groups, by id',
      parameters: [{ name: 'type', in: 'query', schema: { type: 'string', enum: [...GROUP_TYPES] } }, ...page],
      responses: { 200: { description: 'A page of groups', content: json(pageOf('Group')) }, ...errors },
    },
  },
  '/api/v1/groups/{id}': {
    parameters: [idParam],
    get: { tags, summary: 'One group (ETag: the rule version)', responses: { 200: { description: 'The group', content: json(ref('Group')) }, 404: problem, ...errors } },
    patch: {
      tags,
      summary: 'Change what the body names',
      description:
        'The type cannot change, and the rule changes through PUT /rule. Changing manualMembers or includeInactive, or resuming a paused group, queues a sync (`jobId`).',
      requestBody: { required: true, content: json(ref('GroupPatch')) },
      responses: { 200: { description: 'The group', content: json(ref('Group')) }, 404: problem, 409: problem, ...errors },
    },
    delete: { tags, summary: 'Delete the group with its members, exclusions, rule versions and history', responses: { 204: { description: 'Deleted' }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/rule': {
    parameters: [idParam],
    get: { tags, summary: 'The current rule and its version (ETag)', responses: { 200: { description: 'The rule', content: json({ type: 'object', properties: { version: { type: 'integer' }, rule: ref('RuleDocument') } }) }, 404: problem, 409: problem, ...errors } },
    put: {
      tags,
      summary: 'Store a new rule version and sync the group',
      parameters: [{ name: 'If-Match', in: 'header', description: 'The version the change is based on, e.g. "3"; 412 when the rule has moved on', schema: { type: 'string' } }],
      requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, required: ['rule'], properties: { rule: ref('RuleDocument') } }) },
      responses: { 200: { description: 'The group at its new version, with the sync `jobId`', content: json(ref('Group')) }, 404: problem, 409: problem, 412: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/rule/versions': {
    parameters: [idParam],
    get: { tags, summary: 'Every rule version, newest first', parameters: page, responses: { 200: { description: 'A page of versions', content: json(pageOf('RuleVersion')) }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/preview': {
    parameters: [idParam],
    post: {
      tags,
      summary: 'What a sync would change, for the stored or a proposed rule, changing nothing',
      description:
        'Planned from the directory snapshot: every user and membership as of every write that has answered, held in ' +
        "memory (at 100,000 users on the embedded database: about 0.2 s once held, 3 s for a process's first preview). " +
        'Samples are the 10 smallest externalIds. A change made directly in the database, behind the API, is seen after ' +
        'the snapshot rebuild that follows the next full sync.',
      requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { rule: ref('RuleDocument') } }) },
      responses: { 200: { description: 'Counts and samples', content: json(ref('Preview')) }, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/explain/{externalId}': {
    parameters: [idParam, userParam],
    get: { tags, summary: "Why a user is or is not a member: the rule tree with each condition's fact value and result", responses: { 200: { description: 'The explanation', content: json(ref('Explanation')) }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/sync': {
    parameters: [idParam],
    post: {
      tags,
      summary: 'Sync the group now',
      description:
        'A sync that would remove more than the allowed share of members at once (REMOVAL_SAFETY_SHARE, default 50%, for groups above REMOVAL_SAFETY_MIN_MEMBERS) applies its additions, holds the removals and sets the sync state to failed; `{"confirmRemovals": true}` releases them.',
      requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { confirmRemovals: { type: 'boolean', default: false } } }) },
      responses: { ...accepted, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/sync': {
    post: {
      tags,
      summary: 'Sync every automatic group (the nightly reconciliation, now)',
      description: 'The directory is split into partitions (by default one per 20,000 users) that workers take independently; the job shows their combined progress.',
      requestBody: { required: false, content: json({ type: 'object', additionalProperties: false, properties: { partitions: { type: 'integer', minimum: 1, maximum: 64 } } }) },
      responses: { ...accepted, ...errors },
    },
  },
  '/api/v1/groups/{id}/members': {
    parameters: [idParam],
    get: {
      tags,
      summary: 'Members, by externalId',
      parameters: [{ name: 'source', in: 'query', schema: { type: 'string', enum: [...MEMBERSHIP_SOURCES] } }, ...page],
      responses: { 200: { description: 'A page of members', content: json(pageOf('Member')) }, 404: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/members.csv': {
    parameters: [idParam],
    get: { tags, summary: 'Every member as CSV (externalId,source,addedAt)', responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/members/{externalId}': {
    parameters: [idParam, userParam],
    put: {
      tags,
      summary: 'Add a member by hand (source manual)',
      description: '409 when the user is excluded, or inactive in an automatic group that does not include inactive users.',
      responses: { 200: { description: 'Already a member', content: json(ref('Member')) }, 201: { description: 'Added', content: json(ref('Member')) }, 404: problem, 409: problem, ...errors },
    },
    delete: {
      tags,
      summary: 'Remove a member',
      description: "409 for a member by an active automatic group's rule (the next sync would add them again): exclude them instead.",
      responses: { 204: { description: 'Removed' }, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/exclusions': {
    parameters: [idParam],
    get: { tags, summary: 'Excluded users', parameters: page, responses: { 200: { description: 'A page of exclusions', content: json(pageOf('Exclusion')) }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/exclusions/{externalId}': {
    parameters: [idParam, userParam],
    put: { tags, summary: 'Exclude a user: they leave now and never join while excluded', responses: { 200: { description: 'Already excluded', content: json(ref('Exclusion')) }, 201: { description: 'Excluded', content: json(ref('Exclusion')) }, 404: problem, ...errors } },
    delete: { tags, summary: 'Lift an exclusion; the user is evaluated again at once', responses: { 204: { description: 'Lifted' }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/history': {
    parameters: [idParam],
    get: {
      tags,
      summary: 'Every membership change, newest first',
      parameters: [{ name: 'externalId', in: 'query', schema: { type: 'string' } }, { name: 'action', in: 'query', schema: { type: 'string', enum: ['added', 'removed'] } }, ...page],
      responses: { 200: { description: 'A page of entries', content: json(pageOf('HistoryEntry')) }, 404: problem, ...errors },
    },
  },
};

const keySchema = { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' }, maxUses: { type: 'integer', minimum: 1 } } };
const groupFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  description: { type: 'string', maxLength: 2000 },
  manualMembers: { type: 'string', enum: [...MANUAL_MEMBER_POLICIES], default: 'remove', description: 'What syncs do with members added by hand who do not match the rule: remove, keep, or keep staff only' },
  includeInactive: { type: 'boolean', default: false },
  courses: { type: 'array', items: { type: 'string' } },
  isDefault: { type: 'boolean', default: false },
  key: keySchema,
  price: { type: 'number', minimum: 0 },
  paused: { type: 'boolean', default: false, description: 'A paused group does not change' },
};

export const groupsSchemas: Record<string, unknown> = {
  GroupInput: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'type'],
    properties: { ...groupFields, type: { type: 'string', enum: [...GROUP_TYPES] }, rule: { ...ref('RuleDocument'), description: 'Required for automatic groups, refused for manual ones' } },
  },
  GroupPatch: { type: 'object', additionalProperties: false, minProperties: 1, properties: groupFields },
  Group: {
    type: 'object',
    required: ['id', 'name', 'type', 'memberCount', 'createdAt', 'updatedAt'],
    properties: {
      id: { type: 'string' },
      ...groupFields,
      type: { type: 'string', enum: [...GROUP_TYPES] },
      course: { type: 'string', description: 'The course this group belongs to (class groups); absent for global groups' },
      rule: ref('RuleDocument'),
      ruleVersion: { type: 'integer' },
      memberCount: { type: 'integer' },
      sync: {
        type: 'object',
        description: 'Automatic groups only',
        properties: {
          state: { type: 'string', enum: [...SYNC_STATES] },
          lastSyncAt: { type: ['string', 'null'], format: 'date-time' },
          lastChangeAt: { type: ['string', 'null'], format: 'date-time' },
          lastError: { type: 'string' },
          heldRemovals: { type: 'integer', description: 'Removals the safety valve holds' },
          pendingUsers: {
            type: 'integer',
            description:
              'Users changed by directory writes whose membership reaction failed and may affect this group; a job re-applies them. While any are owed, an otherwise idle group shows state `queued` (retry not yet tried) or `failed` (a retry failed too), with the cause in `lastError`.',
          },
          jobId: { type: 'string', description: 'The last sync job' },
        },
      },
      jobId: { type: 'string', description: 'In answers that queued a sync' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  RuleVersion: { type: 'object', properties: { version: { type: 'integer' }, rule: ref('RuleDocument'), createdAt: { type: 'string', format: 'date-time' }, actor: { type: 'string' }, current: { type: 'boolean' } } },
  Preview: {
    type: 'object',
    required: ['toAdd', 'toRemove', 'sampleAdd', 'sampleRemove'],
    properties: { toAdd: { type: 'integer' }, toRemove: { type: 'integer' }, sampleAdd: { type: 'array', items: { type: 'string' } }, sampleRemove: { type: 'array', items: { type: 'string' } } },
  },
  Explanation: {
    type: 'object',
    required: ['member', 'matches', 'conditions'],
    properties: {
      member: { type: 'boolean' },
      matches: { type: 'boolean' },
      conditions: { description: "The rule tree; each leaf with its factValue and result (null for a manual group)" },
      source: { type: 'string', enum: [...MEMBERSHIP_SOURCES] },
      excluded: { type: 'boolean' },
      reason: { type: 'string' },
      pending: { type: ['string', 'null'], enum: ['add', 'remove', null], description: 'What the next evaluation would change' },
    },
  },
  Member: { type: 'object', properties: { externalId: { type: 'string' }, source: { type: 'string', enum: [...MEMBERSHIP_SOURCES] }, addedAt: { type: 'string', format: 'date-time' } } },
  Exclusion: { type: 'object', properties: { externalId: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, actor: { type: 'string' } } },
  HistoryEntry: {
    type: 'object',
    required: ['at', 'externalId', 'action', 'source', 'reason'],
    properties: {
      at: { type: 'string', format: 'date-time' },
      externalId: { type: 'string' },
      action: { type: 'string', enum: ['added', 'removed'] },
      source: { type: 'string', enum: [...MEMBERSHIP_SOURCES] },
      ruleVersion: { type: 'integer' },
      actor: { type: 'string' },
      reason: { type: 'string' },
    },
  },
};
