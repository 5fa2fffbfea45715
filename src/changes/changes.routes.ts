import { Router } from 'express';
import Joi from 'joi';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { queryParameters } from '../platform/openapi-schema.js';
import { readChanges } from './changes-feed.js';
import { EVENT_TYPES } from './change-events.js';

const GROUP_LIST = /^grp_[0-9a-f]{16}(,grp_[0-9a-f]{16}){0,99}$/;

const changesQuery = Joi.object({
  cursor: Joi.string().max(512).description('Opaque: the nextCursor of the previous answer. Without one: no items and a cursor at the present.'),
  groups: Joi.string()
    .pattern(GROUP_LIST)
    .messages({ 'string.pattern.base': 'must be group ids separated by commas (at most 100)' })
    .description('Only the changes of these groups: ids separated by commas'),
  limit: Joi.number().integer().min(1).max(1000).default(50).description('How many changes an answer holds at most'),
});

export function changesRoutes(): Router {
  const router = Router();
  router.get('/changes', requirePermission('changes:read'), validate({ query: changesQuery }), async (_req, res) => {
    const q = res.locals.query as { cursor?: string; groups?: string; limit: number };
    res.json(await readChanges({ limit: q.limit, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}), ...(q.groups ? { groups: q.groups.split(',') } : {}) }));
  });
  return router;
}

const problem = { $ref: '#/components/responses/Problem' };

export const changesOpenApi = {
  '/api/v1/changes': {
    get: {
      tags: ['changes'],
      operationId: 'listChanges',
      summary: 'Membership changes after a cursor, oldest first',
      description:
        'Without a cursor: no items and a cursor at the present. With one: the changes after it, oldest first, and `nextCursor` (never null: at the end of the feed it is where to continue from). ' +
        'A cursor stays valid for at least 7 days (changes are kept 8 days); an older one is a 410: read the members again and start from a new cursor. ' +
        'Delivery is at least once: in the rare case of two writers recording one change at the same moment, an item may come again in a later answer with the same `id`. ' +
        'The same events are sent to webhook subscriptions (their `webhook-id` is the item\'s `id`).',
      parameters: queryParameters(changesQuery),
      responses: {
        200: { description: 'Changes and where to continue', content: { 'application/json': { schema: { $ref: '#/components/schemas/ChangesPage' } } } },
        400: problem,
        401: problem,
        403: problem,
        410: problem,
      },
    },
  },
};

export const changesSchemas = {
  Change: {
    type: 'object',
    required: ['id', 'at', 'type', 'groupId', 'externalId', 'source', 'reason'],
    properties: {
      id: { type: 'string', description: 'Unique per change (the webhook-id of its deliveries)' },
      at: { type: 'string', format: 'date-time' },
      type: { type: 'string', enum: [...EVENT_TYPES] },
      groupId: { type: 'string' },
      externalId: { type: 'string' },
      source: { type: 'string', description: 'rule, manual, key, default, csv, copy or class' },
      reason: { type: 'string' },
      ruleVersion: { type: 'integer' },
    },
  },
  ChangesPage: {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Change' } }, nextCursor: { type: 'string' } },
  },
};
