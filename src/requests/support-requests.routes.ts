// /api/v1/requests: support requests. Each route reads as permission → validation → service → response.
import { Router } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf, requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { pageRequest } from '../platform/pagination.js';
import { createRequestSchema, patchRequestSchema, requestListQuery, requestParams, type RequestInput, type RequestPatch } from './support-requests.schema.js';
import { createRequest, getRequest, listRequests, updateRequest } from './support-requests.service.js';

export { requestsOpenApi, requestsSchemas } from './support-requests.openapi.js';

export function requestsRoutes(_deps: RouteDeps): Router {
  const router = Router();

  router.post('/requests', requirePermission('requests:write'), validate({ body: createRequestSchema }), async (req, res) => {
    const created = await createRequest(req.body as RequestInput, actorOf(req.principal));
    res.status(201).location(`/api/v1/requests/${created.id}`).json(created);
  });

  router.get('/requests', requirePermission('requests:read'), validate({ query: requestListQuery }), async (_req, res) => {
    res.json(await listRequests(pageRequest(res.locals.query), { status: res.locals.query.status }));
  });

  router.get('/requests/:id', requirePermission('requests:read'), validate({ params: requestParams }), async (_req, res) => {
    res.json(await getRequest(res.locals.params.id as string));
  });

  router.patch('/requests/:id', requirePermission('requests:write'), validate({ params: requestParams, body: patchRequestSchema }), async (req, res) => {
    res.json(await updateRequest(res.locals.params.id as string, req.body as RequestPatch, actorOf(req.principal)));
  });

  return router;
}
