// The OpenAPI 3.1 description served at GET /openapi.json. Each domain contributes its paths and schemas next
// to its routes; this file only assembles them.
import { apiKeysOpenApi, apiKeysSchemas } from './keys/api-keys.routes.js';
import { jobsOpenApi, jobsSchemas } from './jobs/jobs.routes.js';
import { directoryOpenApi, directorySchemas } from './directory/directory.routes.js';
import { groupsOpenApi, groupsSchemas } from './groups/groups.routes.js';
import { classSyncOpenApi, classSyncSchemas } from './class-sync/class-sync.routes.js';
import { rulesOpenApi, rulesSchemas } from './rules/rules.routes.js';
import { requestsOpenApi, requestsSchemas } from './requests/support-requests.routes.js';
import { sessionsOpenApi, sessionsSchemas } from './sessions/sessions.routes.js';
import { changesOpenApi, changesSchemas } from './changes/changes.routes.js';
import { webhooksOpenApi, webhooksSchemas } from './webhooks/webhooks.openapi.js';
import { SESSION_COOKIE } from './sessions/session-cookie.js';
import { scimRequestsOpenApi, scimRequestsSchemas } from './scim/scim-requests.routes.js';

const operations = {
  '/health': { get: { tags: ['operations'], operationId: 'health', security: [], summary: 'The process is up', responses: { 200: { description: 'Up' } } } },
  '/ready': { get: { tags: ['operations'], operationId: 'ready', security: [], summary: 'Database and job scheduler reachable', responses: { 200: { description: 'Ready' }, 503: { $ref: '#/components/responses/Problem' } } } },
  '/metrics': { get: { tags: ['operations'], operationId: 'metrics', security: [], summary: 'Prometheus metrics', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': {} } } } } },
};

export function buildOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Autogroups API',
      version: '1.0.0',
      description:
        'Automatic groups for learning platforms and user directories: JSON rules keep group membership right by themselves. ' +
        'This description is the API reference. Conventions (authentication, roles, errors, lists and cursors, jobs), the rule format and ' +
        'guides are in the repository: docs/api.md and the other guides in docs/.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    paths: { ...operations, ...apiKeysOpenApi, ...jobsOpenApi, ...directoryOpenApi, ...rulesOpenApi, ...groupsOpenApi, ...classSyncOpenApi, ...requestsOpenApi, ...sessionsOpenApi, ...changesOpenApi, ...webhooksOpenApi, ...scimRequestsOpenApi },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key, e.g. agk_…. Every 401 carries `WWW-Authenticate: Bearer realm="autogroups"`, with `error="invalid_token"` when the key sent is not known (or revoked).',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description:
            'A browser session opened with POST /api/v1/session: it acts with its key\'s role while the key exists. State-changing calls made with it need the session\'s `X-CSRF-Token` header. An Authorization header, when sent, is used instead.',
        },
      },
      responses: {
        Problem: { description: 'An RFC 9457 problem document', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
        ...apiKeysSchemas,
        ...jobsSchemas,
        ...directorySchemas,
        ...rulesSchemas,
        ...groupsSchemas,
        ...classSyncSchemas,
        ...requestsSchemas,
        ...sessionsSchemas,
        ...scimRequestsSchemas,
        ...changesSchemas,
        ...webhooksSchemas,
      },
    },
  };
}
