// The groups' part of the OpenAPI description (merged by src/openapi.ts). Parameters and request bodies are
// generated from the joi schemas the routes validate with (groups.schema.ts).
import { MEMBERSHIP_SOURCES } from '../membership/membership.model.js';
import { SYNC_STATES } from '../membership/group-state.model.js';
import { MEMBERS_CSV_COLUMNS } from '../membership/members-csv.js';
import { pageQuerySchema } from '../platform/pagination.js';
import { openApiSchema, pathParameters, queryParameters, requestBody, type JsonSchema } from '../platform/openapi-schema.js';
import { ruleExample } from '../rules/rules.openapi.js';
import {
  createGroupSchema,
  fullSyncBodySchema,
  groupKeyBodySchema,
  joinBodySchema,
  groupListQuery,
  groupMemberParams,
  groupParams,
  groupSyncBodySchema,
  historyQuery,
  exclusionListQuery,
  memberListQuery,
  patchGroupSchema,
  previewBodySchema,
  ruleBodySchema,
} from './groups.schema.js';
import { groupCoursesOpenApi } from './group-courses.openapi.js';
import { membersSourcesOpenApi } from './members-sources.openapi.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const page = queryParameters(pageQuerySchema);
const errors = { 400: problem, 401: problem, 403: problem };
const idParam = pathParameters(groupParams);
const memberParam = pathParameters(groupMemberParams, { externalId: 'u-1001' });
const accepted = { 202: { description: 'Queued; follow it at GET /api/v1/jobs/{jobId}', content: json(ref('JobAccepted')) } };
const pageOf = (item: string) => ({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref(item) }, nextCursor: { type: ['string', 'null'] } } });
const tags = ['groups'];
const groupIfMatch = {
  name: 'If-Match',
  in: 'header',
  description: 'Optional: the ETag of GET /groups/{id} the change is based on, compared strongly; `*` matches any group. Any other value is a 412.',
  schema: { type: 'string' },
};

/** Valid on any directory, even an empty one: "Try it out" works first time. */
const groupExample = {
  name: 'Driver safety to do',
  description: 'Learners, not contractors, who have not completed DRV-101',
  type: 'automatic',
  rule: ruleExample,
  manualMembers: 'keep-staff',
};

export const groupsOpenApi: Record<string, unknown> = {
  ...membersSourcesOpenApi,
  '/api/v1/groups': {
    post: {
      tags,
      operationId: 'createGroup',
      summary: 'Create a group',
      description:
        'An automatic group needs a rule (checked like POST /rules/validate; errors are placed under `rule.`); it starts at rule version 1 and a sync of the group is queued (`jobId`). Names are unique (case-insensitive).',
      requestBody: requestBody(createGroupSchema, { component: 'GroupInput', example: groupExample }),
      responses: { 201: { description: 'Created (with `jobId` of its first sync, and `warnings` about the rule, if any)', content: json(ref('Group')) }, 409: problem, ...errors },
    },
    get: {
      tags,
      operationId: 'listGroups',
      summary: 'List groups, by id',
      parameters: queryParameters(groupListQuery),
      responses: { 200: { description: 'A page of groups', content: json(pageOf('Group')) }, ...errors },
    },
  },
  '/api/v1/groups/{id}': {
    parameters: idParam,
    get: {
      tags,
      operationId: 'getGroup',
      summary: 'One group',
      description:
        'The ETag is a strong tag of this representation: it changes whenever anything shown changes (name, members, sync state, rule…). ' +
        '`If-None-Match` with it answers 304 while nothing has. PUT /groups/{id}/rule accepts it in `If-Match`.',
      responses: { 200: { description: 'The group', headers: { ETag: { description: 'Strong tag of this representation', schema: { type: 'string' } } }, content: json(ref('Group')) }, 304: { description: 'Not modified (If-None-Match matched)' }, 404: problem, ...errors },
    },
    patch: {
      tags,
      operationId: 'updateGroup',
      summary: 'Change what the body names',
      description:
        'The type cannot change, and the rule changes through PUT /rule. Changing manualMembers or includeInactive, or resuming a paused group, queues a sync (`jobId`).',
      parameters: [groupIfMatch],
      requestBody: requestBody(patchGroupSchema, { component: 'GroupPatch', example: { description: 'Learners who have not completed DRV-101; staff added by hand stay', paused: false } }),
      responses: { 200: { description: 'The group', content: json(ref('Group')) }, 404: problem, 409: problem, 412: problem, ...errors },
    },
    delete: {
      tags,
      operationId: 'deleteGroup',
      summary: 'Delete the group with its members, exclusions, rule versions and history',
      description:
        "A course's class group (one with `course`, kept by its class group sync) is protected: only an admin may delete it; any other role gets a 403 saying so. A group another group's rule names (`memberOf`, see `usedBy`) is a 409 naming those groups.",
      parameters: [groupIfMatch],
      responses: { 204: { description: 'Deleted' }, 404: problem, 409: problem, 412: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/rule': {
    parameters: idParam,
    get: { tags, operationId: 'getGroupRule', summary: 'The current rule and its version (ETag)', responses: { 200: { description: 'The rule', content: json({ type: 'object', properties: { version: { type: 'integer' }, rule: ref('RuleDocument') } }) }, 404: problem, 409: problem, ...errors } },
    put: {
      tags,
      operationId: 'putGroupRule',
      summary: 'Store a new rule version and sync the group',
      parameters: [
        {
          name: 'If-Match',
          in: 'header',
          description:
            'The rule version the change is based on as an entity tag, e.g. `"3"` (the ETag of GET /groups/{id}/rule), or the ETag of GET /groups/{id}; ' +
            'compared strongly (`W/"3"` never matches). `*` matches any rule. Any other value, stale or not an entity tag, is a 412.',
          schema: { type: 'string' },
        },
      ],
      requestBody: requestBody(ruleBodySchema, { component: 'RuleBody', example: { rule: ruleExample } }),
      responses: { 200: { description: 'The group at its new version, with the sync `jobId`', content: json(ref('Group')) }, 404: problem, 409: problem, 412: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/rule/versions': {
    parameters: idParam,
    get: { tags, operationId: 'listGroupRuleVersions', summary: 'Every rule version, newest first', parameters: page, responses: { 200: { description: 'A page of versions', content: json(pageOf('RuleVersion')) }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/preview': {
    parameters: idParam,
    post: {
      tags,
      operationId: 'previewGroup',
      summary: 'What a sync would change, for the stored or a proposed rule, changing nothing',
      description:
        'Planned from the directory snapshot: every user and membership as of every write that has answered, held in ' +
        "memory (at 100,000 users on the embedded database: about 0.2 s once held, 3 s for a process's first preview). " +
        'Samples are the 10 smallest externalIds. A change made directly in the database, behind the API, is seen after ' +
        'the snapshot rebuild that follows the next full sync. Needs groups:read and users:read (it shows who a rule ' +
        'selects, so it is a way to read users): the integration role gets 403.',
      requestBody: requestBody(previewBodySchema, { example: { rule: ruleExample, at: '2027-03-01T00:00:00Z' } }),
      responses: { 200: { description: 'Counts and samples', content: json(ref('Preview')) }, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/explain/{externalId}': {
    parameters: memberParam,
    get: {
      tags,
      operationId: 'explainMembership',
      summary: "Why a user is or is not a member: the rule tree with each condition's fact value and result",
      description: "Needs members:read and users:read (it shows the user's field values): the integration role gets 403.",
      responses: { 200: { description: 'The explanation', content: json(ref('Explanation')) }, 404: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/sync': {
    parameters: idParam,
    post: {
      tags,
      operationId: 'syncGroup',
      summary: 'Sync the group now',
      description:
        'A sync that would remove more than the allowed share of members at once (REMOVAL_SAFETY_SHARE, default 50%, for groups above REMOVAL_SAFETY_MIN_MEMBERS) applies its additions, holds the removals and sets the sync state to failed; `{"confirmRemovals": true}` releases them. ' +
        "For a course's class group (one with `course`) it syncs all the course's class groups (409 when its class group sync is not active).",
      requestBody: requestBody(groupSyncBodySchema, { example: { confirmRemovals: false } }),
      responses: { ...accepted, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/key': {
    parameters: idParam,
    post: {
      tags,
      operationId: 'makeGroupKey',
      summary: "Make a new group key (the old one stops working at once)",
      description:
        'At least 80 random bits (128). The new key is enabled and starts at 0 uses (uses are counted per key); `maxUses` absent keeps the limit the old key had. Users join with it at POST /api/v1/join.',
      requestBody: requestBody(groupKeyBodySchema, { example: { maxUses: 25 } }),
      responses: { 200: { description: 'The new key', content: json(ref('GroupKey')) }, 404: problem, ...errors },
    },
  },
  '/api/v1/join': {
    post: {
      tags,
      operationId: 'joinWithKey',
      summary: "Join a group with its key",
      description: '`maxUses` holds exactly however many joins race. A member (any source), an excluded user or an inactive user of an automatic group without inactive users is a 409; an unknown or disabled key, or an unknown user, a 404; a key with no uses left, a 410.',
      requestBody: requestBody(joinBodySchema, { example: { key: 'gk_Xq3v9b2LQm0aPz7YcR1sTw', externalId: 'u-1001' } }),
      responses: {
        200: { description: 'The new membership (source `key`)', content: json(ref('Member')) },
        404: problem,
        409: problem,
        410: problem,
        ...errors,
      },
    },
  },
  '/api/v1/sync': {
    post: {
      tags,
      operationId: 'syncAllGroups',
      summary: 'Sync every automatic group (the nightly reconciliation, now)',
      description: 'The directory is split into partitions (by default one per 20,000 users) that workers take independently; the job shows their combined progress.',
      requestBody: requestBody(fullSyncBodySchema, { example: { partitions: 2 } }),
      responses: { ...accepted, ...errors },
    },
  },
  '/api/v1/groups/{id}/members': {
    parameters: idParam,
    get: {
      tags,
      operationId: 'listGroupMembers',
      summary: 'Members, by externalId',
      parameters: queryParameters(memberListQuery),
      responses: { 200: { description: 'A page of members', content: json(pageOf('Member')) }, 404: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/members.csv': {
    parameters: idParam,
    get: {
      tags,
      operationId: 'exportGroupMembers',
      summary: `Every member as CSV (${MEMBERS_CSV_COLUMNS.join(',')})`,
      description:
        'One row per member in externalId order, after a header row; streamed as the database is read. RFC 4180: CRLF line ends, ' +
        'a value holding a comma, a double quote or a line break is quoted (quotes doubled). Against formula injection, a cell ' +
        "that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` (spreadsheets then show it as text): " +
        "strip that quote if you re-import names. A member whose user was deleted meanwhile has empty user cells.",
      responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } }, 404: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/members/{externalId}': {
    parameters: memberParam,
    put: {
      tags,
      operationId: 'addGroupMember',
      summary: 'Add a member by hand (source manual)',
      description: '409 when the user is excluded, or inactive in an automatic group that does not include inactive users.',
      responses: { 200: { description: 'Already a member', content: json(ref('Member')) }, 201: { description: 'Added', content: json(ref('Member')) }, 404: problem, 409: problem, ...errors },
    },
    delete: {
      tags,
      operationId: 'removeGroupMember',
      summary: 'Remove a member',
      description: "409 for a member by an active automatic group's rule (the next sync would add them again): exclude them instead.",
      responses: { 204: { description: 'Removed' }, 404: problem, 409: problem, ...errors },
    },
  },
  '/api/v1/groups/{id}/exclusions': {
    parameters: idParam,
    get: { tags, operationId: 'listGroupExclusions', summary: 'Excluded users', parameters: queryParameters(exclusionListQuery), responses: { 200: { description: 'A page of exclusions', content: json(pageOf('Exclusion')) }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/exclusions/{externalId}': {
    parameters: memberParam,
    put: { tags, operationId: 'excludeGroupUser', summary: 'Exclude a user: they leave now and never join while excluded', responses: { 200: { description: 'Already excluded', content: json(ref('Exclusion')) }, 201: { description: 'Excluded', content: json(ref('Exclusion')) }, 404: problem, ...errors } },
    delete: { tags, operationId: 'liftGroupExclusion', summary: 'Lift an exclusion; the user is evaluated again at once', responses: { 204: { description: 'Lifted' }, 404: problem, ...errors } },
  },
  '/api/v1/groups/{id}/history': {
    parameters: idParam,
    get: {
      tags,
      operationId: 'listGroupHistory',
      summary: 'Every membership change, newest first',
      parameters: queryParameters(historyQuery),
      responses: { 200: { description: 'A page of entries', content: json(pageOf('HistoryEntry')) }, 404: problem, ...errors },
    },
  },
  ...groupCoursesOpenApi,
};

const groupInput = openApiSchema(createGroupSchema);
const inputProperties = groupInput.properties as Record<string, JsonSchema>;

export const groupsSchemas: Record<string, unknown> = {
  GroupInput: groupInput,
  GroupPatch: openApiSchema(patchGroupSchema),
  Group: {
    type: 'object',
    required: ['id', 'name', 'type', 'memberCount', 'createdAt', 'updatedAt'],
    properties: {
      id: { type: 'string' },
      ...inputProperties,
      course: { type: 'string', description: 'The course this group belongs to (class groups); absent for global groups' },
      rule: ref('RuleDocument'),
      ruleVersion: { type: 'integer' },
      memberCount: { type: 'integer' },
      key: {
        type: 'object',
        properties: { enabled: { type: 'boolean' }, maxUses: { type: 'integer' }, uses: { type: 'integer' }, key: { type: 'string', description: 'Shown to admin and support keys only' } },
      },
      sync: {
        type: 'object',
        description: 'Automatic groups only',
        properties: {
          state: { type: 'string', enum: [...SYNC_STATES] },
          lastSyncAt: { type: ['string', 'null'], format: 'date-time' },
          lastChangeAt: { type: ['string', 'null'], format: 'date-time' },
          nextChangeAt: {
            type: ['string', 'null'],
            format: 'date-time',
            description: 'The earliest instant at which some user joins or leaves by time alone (a rule with withinLastDays or moreThanDaysAgo), or null. Not part of the ETag.',
          },
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
      usedBy: {
        type: 'array',
        description: 'GET /groups/{id}: the groups whose rule names this one (`memberOf`); such a group cannot be deleted. Not part of the ETag.',
        items: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
      },
      warnings: { type: 'array', items: ref('RuleIssue'), description: 'In answers that stored a rule: what may not be meant (e.g. a course that does not exist yet)' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  RuleVersion: { type: 'object', properties: { version: { type: 'integer' }, rule: ref('RuleDocument'), createdAt: { type: 'string', format: 'date-time' }, actor: { type: 'string' }, current: { type: 'boolean' } } },
  Preview: {
    type: 'object',
    required: ['toAdd', 'toRemove', 'sampleAdd', 'sampleRemove'],
    properties: {
      toAdd: { type: 'integer' },
      toRemove: { type: 'integer' },
      sampleAdd: { type: 'array', items: { type: 'string' } },
      sampleRemove: { type: 'array', items: { type: 'string' } },
      flipsBefore: { type: 'integer', description: 'With `at` later than now: how many of toAdd and toRemove are users that time alone moves before `at` (certifications lapsing, new hires passing 90 days)' },
      sampleAddUsers: { type: 'array', items: ref('UserSummary'), description: 'The users of sampleAdd, in its order, with their names' },
      sampleRemoveUsers: { type: 'array', items: ref('UserSummary'), description: 'The users of sampleRemove, in its order, with their names' },
      error: { type: 'string', description: 'Why the rule could not be evaluated for some users' },
    },
  },
  UserSummary: {
    type: 'object',
    required: ['externalId', 'email', 'firstName', 'lastName'],
    description: 'Who an externalId is, for people reading a list',
    properties: { externalId: { type: 'string' }, email: { type: 'string' }, firstName: { type: 'string' }, lastName: { type: 'string' } },
  },
  Explanation: {
    type: 'object',
    required: ['member', 'matches', 'conditions'],
    properties: {
      member: { type: 'boolean' },
      matches: { type: 'boolean' },
      conditions: { oneOf: [ref('ExplainNode'), { type: 'null' }], description: 'The rule tree; each leaf with its factValue and result (null for a manual group)' },
      source: { type: 'string', enum: [...MEMBERSHIP_SOURCES] },
      excluded: { type: 'boolean' },
      reason: { type: 'string' },
      pending: { type: ['string', 'null'], enum: ['add', 'remove', null], description: 'What the next evaluation would change' },
      changesAt: {
        type: ['string', 'null'],
        format: 'date-time',
        description: "The instant at which this user's membership changes by time alone (a withinLastDays or moreThanDaysAgo condition flips), or null",
      },
      changeReason: { type: 'string', description: 'With changesAt: the condition that flips then, e.g. "completed CERT-1 within the last 365 days no longer holds"' },
      user: { ...ref('UserSummary'), description: 'Who the user is' },
    },
  },
  ExplainNode: {
    type: 'object',
    required: ['result'],
    description: 'A node of the rule tree as explain evaluated it for one user: a group (all, any or not) or a condition with the value the user had',
    properties: {
      all: { type: 'array', items: ref('ExplainNode') },
      any: { type: 'array', items: ref('ExplainNode') },
      not: ref('ExplainNode'),
      fact: { type: 'string' },
      params: { type: 'object', additionalProperties: { type: 'string' } },
      path: { type: 'string' },
      operator: { type: 'string' },
      value: { description: 'The condition’s value' },
      factValue: { description: 'The value the user had (absent: none)' },
      result: { type: 'boolean' },
      group: {
        type: 'object',
        required: ['id', 'name', 'type', 'member'],
        description: 'A memberOf condition: the named group’s own standing for the user, and for an automatic group its rule explained, to any depth',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          type: { type: 'string', enum: ['manual', 'automatic'] },
          member: { type: 'boolean', description: 'Whether the user is a member of that group now' },
          matches: { type: 'boolean', description: 'Automatic groups: whether the user matches its rule' },
          conditions: ref('ExplainNode'),
        },
      },
    },
  },
  GroupKey: { type: 'object', required: ['key', 'uses'], properties: { key: { type: 'string' }, maxUses: { type: 'integer' }, uses: { type: 'integer' } } },
  Member: { type: 'object', required: ['externalId', 'source', 'addedAt'], properties: { externalId: { type: 'string' }, source: { type: 'string', enum: [...MEMBERSHIP_SOURCES] }, addedAt: { type: 'string', format: 'date-time' }, user: { ...ref('UserSummary'), description: 'With include=user (always with q or sort=name on members): who the user is' } } },
  Exclusion: { type: 'object', required: ['externalId', 'createdAt'], properties: { externalId: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, actor: { type: 'string' }, user: { ...ref('UserSummary'), description: 'With include=user (always with q or sort=name on members): who the user is' } } },
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
      user: { ...ref('UserSummary'), description: 'With include=user (always with q or sort=name on members): who the user is' },
    },
  },
};
