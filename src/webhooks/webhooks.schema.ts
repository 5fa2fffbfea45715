// The webhooks API's input, checked by joi; the OpenAPI description is generated from the same schemas.
import Joi from 'joi';
import { EVENT_TYPES } from '../changes/change-events.js';
import { groupIdSchema } from '../groups/groups.schema.js';
import { pageSchema } from '../platform/pagination.js';

const url = Joi.string().trim().max(2000).description('Where deliveries are POSTed: https: (http: too when WEBHOOKS_ALLOW_PRIVATE_TARGETS=true), not resolving to a private, loopback, link-local or metadata address');
const events = Joi.array().items(Joi.string().valid(...EVENT_TYPES)).min(1).unique().description('The events to deliver');
const groups = Joi.array().items(groupIdSchema).max(100).unique().description('Only the changes of these groups (absent: every group)');
const description = Joi.string().trim().max(500).description('What receives them, for the admins');

export const createWebhookSchema = Joi.object({
  url: url.required(),
  events: events.required(),
  groups,
  description,
});

export const patchWebhookSchema = Joi.object({
  url,
  events,
  groups: groups.allow(null).description('Only the changes of these groups; null: every group'),
  description: description.allow(null),
  state: Joi.string().valid('active', 'disabled').description('`active` turns a failing or disabled subscription back on (deliveries go on from where they stopped); `disabled` stops it'),
}).min(1);

export const rotateSecretSchema = Joi.object({
  graceSeconds: Joi.number().integer().min(0).max(7 * 86400).default(86400).description('How long the previous secret goes on signing beside the new one (default a day, at most 7 days)'),
});

export const webhookParams = Joi.object({ id: Joi.string().pattern(/^wh_[0-9a-f]{16}$/).required().description('The subscription id') });
export const deliveryParams = Joi.object({
  id: Joi.string().pattern(/^wh_[0-9a-f]{16}$/).required().description('The subscription id'),
  deliveryId: Joi.string().pattern(/^dlv_[0-9a-f]{24}$/).required().description('The delivery id'),
});
export const deliveriesQuery = Joi.object(pageSchema);
