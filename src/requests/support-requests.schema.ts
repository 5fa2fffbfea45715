// The one definition of a support request's input (POST and PATCH /requests) and of the list's filters.
import Joi from 'joi';
import { pageSchema } from '../platform/pagination.js';
import { groupIdSchema } from '../groups/groups.schema.js';
import { ruleDocumentSchema } from '../rules/rule-body.schema.js';
import { REQUEST_STATUSES } from './support-request.model.js';

/** `req_`, then 12 hex digits of the creation time in milliseconds and 8 random ones: ids sort by creation. */
const REQUEST_ID_PATTERN = /^req_[0-9a-f]{20}$/;
const requestIdSchema = Joi.string().pattern(REQUEST_ID_PATTERN).messages({ 'string.pattern.base': 'is not a request id (req_ and 20 hex digits)' });

export const requestParams = Joi.object({ id: requestIdSchema.required().description('The request id') });
export const requestListQuery = Joi.object({ ...pageSchema, status: Joi.string().valid(...REQUEST_STATUSES).description('Only requests in this status') });

const draftRule = ruleDocumentSchema.description('A draft of the rule the group should have: checked like POST /rules/validate and stored even when invalid, with its errors in `draftRuleErrors`');

export const createRequestSchema = Joi.object({
  title: Joi.string().trim().min(1).max(200).required(),
  description: Joi.string().trim().min(1).max(10_000).required(),
  requestedBy: Joi.string().trim().min(1).max(200).required().description('Who asked for the group: a name or an email'),
  draftRule,
});

/** PATCH /requests/{id}: what it names changes; every change is kept in the timeline. */
export const patchRequestSchema = Joi.object({
  status: Joi.string().valid(...REQUEST_STATUSES).description('open → in_progress | done | rejected; in_progress → open | done | rejected; done → in_progress; rejected → open. `done` needs a groupId (given here or already on the request) of an existing group'),
  groupId: groupIdSchema.allow(null).description('The group the request produced (or is producing); null unlinks it (not while done)'),
  note: Joi.string().trim().min(1).max(2_000).description('Kept in the timeline entry of this change'),
  draftRule: draftRule.description('Replaces the draft rule (checked again; null removes it). An extension of the contract, kept in the timeline like any change'),
})
  .min(1)
  .messages({ 'object.min': 'names nothing to change' });

export interface RequestInput {
  title: string;
  description: string;
  requestedBy: string;
  draftRule?: unknown;
}

export interface RequestPatch {
  status?: (typeof REQUEST_STATUSES)[number];
  groupId?: string | null;
  note?: string;
  draftRule?: unknown;
}
