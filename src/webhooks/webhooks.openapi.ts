// The webhooks' part of the OpenAPI description (merged by src/openapi.ts), generated from the joi schemas the
// routes validate with.
import { openApiSchema, pathParameters, queryParameters, requestBody } from '../platform/openapi-schema.js';
import { EVENT_TYPES } from '../changes/change-events.js';
import { pageQuerySchema } from '../platform/pagination.js';
import { WEBHOOK_STATES } from './webhook.model.js';
import { createWebhookSchema, deliveriesQuery, deliveryParams, patchWebhookSchema, rotateSecretSchema, webhookParams } from './webhooks.schema.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { 400: problem, 401: problem, 403: problem };
const tags = ['webhooks'];
const admin = ' Admin keys only.';
const withSecret = { allOf: [ref('Webhook'), { type: 'object', required: ['secret'], properties: { secret: { type: 'string', description: '`whsec_` + base64 of 32 random bytes; shown only in this answer' } } }] };

export const webhooksOpenApi: Record<string, unknown> = {
  '/api/v1/webhooks': {
    post: {
      tags,
      operationId: 'createWebhook',
      summary: 'Subscribe a URL to membership changes',
      description:
        'Deliveries follow the Standard Webhooks specification (docs/webhooks.md): a signed POST per change, retried with backoff for 3 days. The answer carries the signing `secret`, shown only here. ' +
        'The URL must be https: and may not resolve to a loopback, private, link-local or metadata address (a 400 naming `url`), unless the service runs with WEBHOOKS_ALLOW_PRIVATE_TARGETS=true. ' +
        'Changes are delivered from the moment of creation on.' + admin,
      requestBody: requestBody(createWebhookSchema, { component: 'WebhookInput', example: { url: 'https://93.184.215.14/autogroups', events: ['membership.added', 'membership.removed'], description: 'LMS enrolments' } }),
      responses: { 201: { description: 'Created', content: json(withSecret) }, ...errors },
    },
    get: { tags, operationId: 'listWebhooks', summary: 'Webhook subscriptions, by id', description: admin.trim(), parameters: queryParameters(pageQuerySchema), responses: { 200: { description: 'A page of subscriptions', content: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('Webhook') }, nextCursor: { type: ['string', 'null'] } } }) }, ...errors } },
  },
  '/api/v1/webhooks/{id}': {
    parameters: pathParameters(webhookParams),
    get: { tags, operationId: 'getWebhook', summary: 'One webhook subscription (never its secret)', description: admin.trim(), responses: { 200: { description: 'The subscription', content: json(ref('Webhook')) }, 404: problem, ...errors } },
    patch: {
      tags,
      operationId: 'updateWebhook',
      summary: 'Change a subscription, or turn it off and on',
      description: '`state: "active"` turns a failing or disabled subscription back on: deliveries go on from the first undelivered change.' + admin,
      requestBody: requestBody(patchWebhookSchema, { component: 'WebhookPatch', example: { state: 'active' } }),
      responses: { 200: { description: 'The subscription', content: json(ref('Webhook')) }, 404: problem, ...errors },
    },
    delete: { tags, operationId: 'deleteWebhook', summary: 'Delete a subscription and its delivery attempts', description: admin.trim(), responses: { 204: { description: 'Deleted' }, 404: problem, ...errors } },
  },
  '/api/v1/webhooks/{id}/rotate-secret': {
    parameters: pathParameters(webhookParams),
    post: {
      tags,
      operationId: 'rotateWebhookSecret',
      summary: 'A new signing secret, shown once; the previous one signs too during the grace period',
      description: 'While both sign, `webhook-signature` carries two signatures (space-separated), so a receiver verifies with either secret.' + admin,
      requestBody: requestBody(rotateSecretSchema, { example: { graceSeconds: 86400 } }),
      responses: { 200: { description: 'The subscription and its new secret', content: json(withSecret) }, 404: problem, ...errors },
    },
  },
  '/api/v1/webhooks/{id}/test': {
    parameters: pathParameters(webhookParams),
    post: {
      tags,
      operationId: 'sendWebhookTestEvent',
      summary: 'Send a signed `webhook.test` event now and report the receiver\'s answer',
      description: 'Not a delivery: it is not retried or listed. A receiver that fails it answers here (`ok: false`), not with an error.' + admin,
      responses: { 200: { description: 'What the receiver answered', content: json(ref('WebhookTestResult')) }, 404: problem, ...errors },
    },
  },
  '/api/v1/webhooks/{id}/deliveries': {
    parameters: pathParameters(webhookParams),
    get: {
      tags,
      operationId: 'listWebhookDeliveries',
      summary: 'Deliveries that have been attempted, the newest change first, each with every attempt',
      description: admin.trim(),
      parameters: queryParameters(deliveriesQuery),
      responses: { 200: { description: 'A page of deliveries', content: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: ref('WebhookDelivery') }, nextCursor: { type: ['string', 'null'] } } }) }, 404: problem, ...errors },
    },
  },
  '/api/v1/webhooks/{id}/deliveries/{deliveryId}/retry': {
    parameters: pathParameters(deliveryParams),
    post: {
      tags,
      operationId: 'retryWebhookDelivery',
      summary: 'Send a delivery again now, whatever its schedule or the subscription\'s state',
      description: 'Answers once the receiver has (within 10 s), with the delivery and its new attempt.' + admin,
      responses: { 200: { description: 'The delivery', content: json(ref('WebhookDelivery')) }, 404: problem, ...errors },
    },
  },
};

export const webhooksSchemas = {
  WebhookInput: openApiSchema(createWebhookSchema),
  WebhookPatch: openApiSchema(patchWebhookSchema),
  Webhook: {
    type: 'object',
    required: ['id', 'url', 'events', 'state', 'createdAt', 'updatedAt'],
    properties: {
      id: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'array', items: { type: 'string', enum: [...EVENT_TYPES] } },
      groups: { type: 'array', items: { type: 'string' } },
      description: { type: 'string' },
      state: { type: 'string', enum: [...WEBHOOK_STATES] },
      stateReason: { type: 'string', description: 'Why it is failing or disabled' },
      previousSecretExpiresAt: { type: 'string', format: 'date-time', description: 'While a rotated-out secret still signs: until when' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  WebhookDelivery: {
    type: 'object',
    required: ['id', 'eventId', 'type', 'groupId', 'externalId', 'state', 'attempts'],
    properties: {
      id: { type: 'string' },
      eventId: { type: 'string', description: 'The webhook-id of every attempt (the change\'s id in GET /changes)' },
      type: { type: 'string', enum: [...EVENT_TYPES] },
      groupId: { type: 'string' },
      externalId: { type: 'string' },
      state: { type: 'string', enum: ['delivered', 'failing'] },
      attempts: {
        type: 'array',
        items: {
          type: 'object',
          required: ['at', 'durationMs'],
          properties: { at: { type: 'string', format: 'date-time' }, statusCode: { type: 'integer' }, error: { type: 'string' }, durationMs: { type: 'integer' }, manual: { type: 'boolean' } },
        },
      },
    },
  },
  WebhookTestResult: {
    type: 'object',
    required: ['ok', 'durationMs', 'webhookId'],
    properties: { ok: { type: 'boolean' }, statusCode: { type: 'integer' }, error: { type: 'string' }, durationMs: { type: 'integer' }, webhookId: { type: 'string' } },
  },
};
