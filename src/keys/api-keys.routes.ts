import { Router } from 'express';
import Joi from 'joi';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { pageRequest, pageSchema } from '../platform/pagination.js';
import { ROLES, type Role } from '../platform/roles.js';
import { createApiKey, getApiKey, listApiKeys, revokeApiKey } from './api-keys.service.js';

const keyIdParams = Joi.object({ id: Joi.string().pattern(/^key_[0-9a-f]{16}$/).required() });

export function apiKeysRoutes(): Router {
  const router = Router();

  router.post(
    '/keys',
    requirePermission('keys:write'),
    validate({ body: Joi.object({ name: Joi.string().trim().min(1).max(100).required(), role: Joi.string().valid(...ROLES).required() }) }),
    async (req, res) => {
      const { name, role } = req.body as { name: string; role: Role };
      res.status(201).json(await createApiKey(name, role));
    },
  );

  router.get('/keys', requirePermission('keys:read'), validate({ query: Joi.object(pageSchema) }), async (_req, res) => {
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

export const apiKeysOpenApi = {
  '/api/v1/keys': {
    post: {
      tags: ['keys'], summary: 'Create an API key (the key is shown once, in this response)',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['name', 'role'], properties: { name: { type: 'string', maxLength: 100 }, role: { type: 'string', enum: [...ROLES] } } } } } },
      responses: { 201: { description: 'Created', content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/ApiKey' }, { type: 'object', properties: { key: { type: 'string' } } }] } } } }, 400: { $ref: '#/components/responses/Problem' } },
    },
    get: { tags: ['keys'], summary: 'List API keys', parameters: [{ $ref: '#/components/parameters/limit' }, { $ref: '#/components/parameters/cursor' }], responses: { 200: { description: 'A page of keys', content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiKeyPage' } } } } } },
  },
  '/api/v1/keys/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: { tags: ['keys'], summary: 'One API key', responses: { 200: { description: 'The key (never the secret)', content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiKey' } } } }, 404: { $ref: '#/components/responses/Problem' } } },
    delete: { tags: ['keys'], summary: 'Revoke an API key at once', responses: { 204: { description: 'Revoked' }, 404: { $ref: '#/components/responses/Problem' }, 409: { $ref: '#/components/responses/Problem' } } },
  },
};

export const apiKeysSchemas = {
  ApiKey: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', enum: [...ROLES] }, prefix: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, lastUsedAt: { type: ['string', 'null'], format: 'date-time' } } },
  ApiKeyPage: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/ApiKey' } }, nextCursor: { type: ['string', 'null'] } } },
};
