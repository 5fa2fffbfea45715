import { Router } from 'express';
import Joi from 'joi';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { pageQuerySchema, pageRequest } from '../platform/pagination.js';
import { openApiSchema, pathParameters, queryParameters, requestBody } from '../platform/openapi-schema.js';
import { ROLES, type Role } from '../platform/roles.js';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from './api-keys.service.js';

const keyIdParams = Joi.object({ id: Joi.string().pattern(/^key_[0-9a-f]{16}$/).required().description('The key id (not the key)') });
const createKeyBody = Joi.object({ name: Joi.string().trim().min(1).max(100).required().description('Who or what uses the key'), role: Joi.string().valid(...ROLES).required() });

export function apiKeysRoutes(): Router {
  const router = Router();

  router.post(
    '/keys',
    requirePermission('keys:write'),
    validate({ body: createKeyBody }),
    async (req, res) => {
      const { name, role } = req.body as { name: string; role: Role };
      res.status(201).json(await createApiKey(name, role));
    },
  );

  router.get('/keys', requirePermission('keys:read'), validate({ query: pageQuerySchema }), async (_req, res) => {
    res.json(await listApiKeys(pageRequest(res.locals.query)));
  });

  router.get('/keys/:id', requirePermission('keys:read'), validate({ params: keyIdParams }), async (req, res) => {
    res.json(await getApiKey(req.params.id as string));
  });

  router.delete('/keys/:id', requirePermission('keys:write'), validate({ params: keyIdParams }), async (req, res) => {
    await revokeApiKey(req.params.id as string);
    res.status(204).end();
  });

  return router;
}

const problem = { $ref: '#/components/responses/Problem' };
const errors = { 400: problem, 401: problem, 403: problem };
const tags = ['keys'];

export const apiKeysOpenApi = {
  '/api/v1/keys': {
    post: {
      tags,
      operationId: 'createApiKey',
      summary: 'Create an API key (the key is shown once, in this response)',
      requestBody: requestBody(createKeyBody, { component: 'ApiKeyInput', example: { name: 'HR feed (nightly import)', role: 'hr-feed' } }),
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/ApiKey' }, { type: 'object', properties: { key: { type: 'string' } } }] } } } }, ...errors },
    },
    get: { tags, operationId: 'listApiKeys', summary: 'List API keys', parameters: queryParameters(pageQuerySchema), responses: { 200: { description: 'A page of keys', content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiKeyPage' } } } }, ...errors } },
  },
  '/api/v1/keys/{id}': {
    parameters: pathParameters(keyIdParams),
    get: { tags, operationId: 'getApiKey', summary: 'One API key', responses: { 200: { description: 'The key (never the secret)', content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiKey' } } } }, 404: problem, ...errors } },
    delete: { tags, operationId: 'revokeApiKey', summary: 'Revoke an API key at once', responses: { 204: { description: 'Revoked' }, 404: problem, 409: problem, ...errors } },
  },
};

export const apiKeysSchemas = {
  ApiKeyInput: openApiSchema(createKeyBody),
  ApiKey: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: [...ROLES] }, prefix: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, lastUsedAt: { type: ['string', 'null'], format: 'date-time' } } },
  ApiKeyPage: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/ApiKey' } }, nextCursor: { type: ['string', 'null'] } } },
};
