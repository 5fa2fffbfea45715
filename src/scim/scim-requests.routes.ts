// GET /api/v1/scim/requests: the last SCIM requests and their outcome (request-log.ts), for admins setting up a
// provider (the console's Provisioning page reads it).
import { Router } from 'express';
import Joi from 'joi';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { queryParameters } from '../platform/openapi-schema.js';
import { KEEP, recentScimRequests } from './request-log.js';

const scimRequestsQuery = Joi.object({ limit: Joi.number().integer().min(1).max(KEEP).default(50).description('How many of the newest requests') });

export function scimRequestsRoutes(): Router {
  const router = Router();
  router.get('/scim/requests', requirePermission('provisioning'), validate({ query: scimRequestsQuery }), async (_req, res) => {
    res.json({ items: await recentScimRequests((res.locals.query as { limit: number }).limit) });
  });
  return router;
}

const problem = { $ref: '#/components/responses/Problem' };

export const scimRequestsSchemas = {
  ScimRequest: {
    type: 'object',
    required: ['at', 'method', 'path', 'status', 'outcome', 'durationMs'],
    properties: {
      at: { type: 'string', format: 'date-time' },
      method: { type: 'string' },
      path: { type: 'string', description: 'The path and query as sent, under /scim/v2' },
      status: { type: 'integer' },
      outcome: { type: 'string', enum: ['ok', 'client error', 'server error'] },
      scimType: { type: 'string', description: 'The SCIM error type, for a failure that has one' },
      detail: { type: 'string', description: "The SCIM error's detail, for a failure" },
      key: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } }, description: 'The API key that sent it, when it was known' },
      durationMs: { type: 'number' },
    },
  },
};

export const scimRequestsOpenApi = {
  '/api/v1/scim/requests': {
    get: {
      tags: ['scim'],
      operationId: 'listScimRequests',
      summary: 'The last SCIM requests (/scim/v2) and their outcome, newest first (admins only; about the last 500 are kept)',
      parameters: queryParameters(scimRequestsQuery),
      responses: {
        200: {
          description: 'The newest requests',
          content: { 'application/json': { schema: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: { $ref: '#/components/schemas/ScimRequest' } } } } } },
        },
        400: problem,
        401: problem,
        403: problem,
      },
    },
  },
};
