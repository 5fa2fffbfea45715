// The sessions' part of the OpenAPI description (merged by src/openapi.ts).
import { requestBody } from '../platform/openapi-schema.js';
import { ROLES } from '../platform/roles.js';
import { openSessionSchema } from './sessions.schema.js';

const problem = { $ref: '#/components/responses/Problem' };
const tags = ['sessions'];
const session = { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } };

export const sessionsOpenApi: Record<string, unknown> = {
  '/api/v1/session': {
    post: {
      tags,
      operationId: 'openSession',
      security: [],
      summary: 'Sign in: exchange an API key for a session cookie',
      description:
        'Sets `autogroups_session`, a signed cookie (`HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` over HTTPS) that expires after SESSION_TTL (default 8 h). ' +
        'Every /api/v1 call then accepts the cookie in place of the bearer key, with the key\'s role, and only while the key exists: revoking the key ends its sessions at once. ' +
        'State-changing calls (POST, PUT, PATCH, DELETE) made with the cookie need the answer\'s `csrfToken` in an `X-CSRF-Token` header, and are refused (403) when the browser says `Sec-Fetch-Site` is anything but `same-origin`. ' +
        'A wrong key is a 401. A sign-in from another site\'s page (`Sec-Fetch-Site: cross-site` or `same-site`) is a 403.',
      requestBody: requestBody(openSessionSchema, { example: { key: 'agk_paste-an-api-key-here' } }),
      responses: {
        201: { description: 'Signed in', headers: { 'Set-Cookie': { description: 'The session cookie', schema: { type: 'string' } } }, content: session },
        400: problem,
        401: problem,
        403: problem,
      },
    },
    get: {
      tags,
      operationId: 'getSession',
      summary: 'The session this call carries: who it acts as, until when, and its CSRF token',
      description: 'For a page that reloads and needs its `X-CSRF-Token` again. A call made with a bearer key has no session: 404.',
      responses: { 200: { description: 'The session', content: session }, 400: problem, 401: problem, 404: problem },
    },
    delete: {
      tags,
      operationId: 'closeSession',
      security: [],
      summary: 'Sign out: end the session and clear its cookie',
      description: 'Always clears the cookie. A live session is ended (its record deleted) and needs its `X-CSRF-Token`, like any state-changing call made with it; one that had expired or ended is just forgotten.',
      responses: { 204: { description: 'Signed out' }, 400: problem, 403: problem },
    },
  },
};

export const sessionsSchemas: Record<string, unknown> = {
  Session: {
    type: 'object',
    required: ['keyId', 'name', 'role', 'expiresAt', 'csrfToken'],
    properties: {
      keyId: { type: 'string', description: 'The API key the session acts as' },
      name: { type: 'string' },
      role: { type: 'string', enum: [...ROLES] },
      expiresAt: { type: 'string', format: 'date-time' },
      csrfToken: { type: 'string', description: 'Send it as `X-CSRF-Token` on every state-changing call made with the session' },
    },
  },
};
