import { Router } from 'express';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { decodeCursor, encodeCursor, pageQuerySchema, pageRequest } from '../platform/pagination.js';
import type { RouteDeps } from '../service-deps.js';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, rotateSecret, updateWebhook, type WebhookInput, type WebhookPatch } from './webhooks.service.js';
import { retryDelivery, sendTestEvent } from './delivery.js';
import { createWebhookSchema, deliveriesQuery, deliveryParams, patchWebhookSchema, rotateSecretSchema, webhookParams } from './webhooks.schema.js';

export function webhooksRoutes(deps: RouteDeps): Router {
  const router = Router();
  const allowPrivate = deps.config.webhooksAllowPrivateTargets;
  const delivery = { allowPrivate, metrics: deps.metrics };

  router.post('/webhooks', requirePermission('webhooks:write'), validate({ body: createWebhookSchema }), async (req, res) => {
    res.status(201).json(await createWebhook(req.body as WebhookInput, allowPrivate));
  });
  router.get('/webhooks', requirePermission('webhooks:read'), validate({ query: pageQuerySchema }), async (_req, res) => {
    res.json(await listWebhooks(pageRequest(res.locals.query)));
  });
  router.get('/webhooks/:id', requirePermission('webhooks:read'), validate({ params: webhookParams }), async (req, res) => {
    res.json(await getWebhook(req.params.id as string));
  });
  router.patch('/webhooks/:id', requirePermission('webhooks:write'), validate({ params: webhookParams, body: patchWebhookSchema }), async (req, res) => {
    res.json(await updateWebhook(req.params.id as string, req.body as WebhookPatch, allowPrivate));
  });
  router.delete('/webhooks/:id', requirePermission('webhooks:write'), validate({ params: webhookParams }), async (req, res) => {
    await deleteWebhook(req.params.id as string);
    res.status(204).end();
  });
  router.post('/webhooks/:id/rotate-secret', requirePermission('webhooks:write'), validate({ params: webhookParams, body: rotateSecretSchema }), async (req, res) => {
    res.json(await rotateSecret(req.params.id as string, (req.body as { graceSeconds: number }).graceSeconds));
  });
  router.post('/webhooks/:id/test', requirePermission('webhooks:write'), validate({ params: webhookParams }), async (req, res) => {
    res.json(await sendTestEvent(req.params.id as string, delivery));
  });
  router.get('/webhooks/:id/deliveries', requirePermission('webhooks:read'), validate({ params: webhookParams, query: deliveriesQuery }), async (req, res) => {
    const q = res.locals.query as { limit: number; cursor?: string };
    const page = await listDeliveries(req.params.id as string, { limit: q.limit, ...(q.cursor !== undefined ? { after: decodeCursor(q.cursor) } : {}) });
    res.json({ items: page.items, nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor) });
  });
  router.post('/webhooks/:id/deliveries/:deliveryId/retry', requirePermission('webhooks:write'), validate({ params: deliveryParams }), async (req, res) => {
    res.json(await retryDelivery(req.params.id as string, req.params.deliveryId as string, delivery));
  });
  return router;
}
