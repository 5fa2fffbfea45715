// The one definition of a group's input, used by the routes (and by anything else that creates groups).
import Joi from 'joi';
import { courseCodeSchema, externalIdSchema } from '../directory/identifiers.js';
import { pageSchema } from '../platform/pagination.js';
import { MEMBERSHIP_SOURCES } from '../membership/membership.model.js';
import { ruleBodySchema, ruleDocumentSchema } from '../rules/rule-body.schema.js';
import { GROUP_TYPES, MANUAL_MEMBER_POLICIES } from './group.model.js';

export const GROUP_ID_PATTERN = /^grp_[0-9a-f]{16}$/;
export const groupIdSchema = Joi.string().pattern(GROUP_ID_PATTERN).messages({ 'string.pattern.base': 'is not a group id (grp_ and 16 hex digits)' });

export const groupParams = Joi.object({ id: groupIdSchema.required().description('The group id') });
export const groupMemberParams = Joi.object({ id: groupIdSchema.required().description('The group id'), externalId: externalIdSchema.required().description("The user's externalId") });
export const groupListQuery = Joi.object({
  ...pageSchema,
  type: Joi.string().valid(...GROUP_TYPES),
  priced: Joi.boolean().description('true: only bundles (groups with a price); false: only groups without one'),
  course: courseCodeSchema.description("Only the groups scoped to this course (its class group sync's groups)"),
});
export const groupCourseParams = Joi.object({ id: groupIdSchema.required().description('The group id'), code: courseCodeSchema.required().description('The course code') });
/** `include=user`: each item also names the user (`user: { externalId, email, firstName, lastName }`), for people reading the list. */
const includeUser = Joi.string().valid('user').description('`user`: each item also carries `user` (email, first and last name) when the user exists');
export const memberListQuery = Joi.object({
  ...pageSchema,
  source: Joi.string().valid(...MEMBERSHIP_SOURCES),
  q: Joi.string().trim().min(1).max(200).description("Only members whose externalId, email, first or last name contains each word (case-insensitive); looks at 1,000 matching users at most. Items then carry `user`"),
  sort: Joi.string().valid('externalId', 'name').default('externalId').description('`name`: by last name, first name, then externalId (reads the whole group: meant for people, not for feeds); items then carry `user`'),
  include: includeUser,
});
export const exclusionListQuery = Joi.object({ ...pageSchema, include: includeUser });
export const historyQuery = Joi.object({ ...pageSchema, externalId: externalIdSchema.description("Only this user's entries"), action: Joi.string().valid('added', 'removed'), include: includeUser });

const name = Joi.string().trim().min(1).max(200);
const description = Joi.string().max(2000).allow('');
const courses = Joi.array().items(courseCodeSchema).max(200).unique();
const key = Joi.object({ enabled: Joi.boolean().required(), maxUses: Joi.number().integer().min(1).max(1_000_000_000) }).description('The group key users join with (POST /join)');
// Money: two decimals at most (1.005 is refused, not rounded), so that the price stored is the price shown.
const price = Joi.number().min(0).max(1e12).precision(2).description('The bundle price (≥ 0, at most two decimals); a group with a price is a bundle of its courses');

/** POST /groups. The rule's own shape is checked by the rule engine, which names each bad place inside it. */
export const createGroupSchema = Joi.object({
  name: name.required(),
  description,
  type: Joi.string().valid(...GROUP_TYPES).required(),
  rule: ruleDocumentSchema.description('Required for an automatic group, refused for a manual one').when('type', {
    is: 'automatic',
    then: Joi.required().messages({ 'any.required': 'is required for an automatic group' }),
    otherwise: Joi.forbidden().messages({ 'any.unknown': 'is only allowed for an automatic group' }),
  }),
  manualMembers: Joi.string().valid(...MANUAL_MEMBER_POLICIES).default('remove').description('What syncs do with members added by hand who do not match the rule: remove, keep, or keep staff only'),
  includeInactive: Joi.boolean().default(false),
  courses: courses.default([]),
  isDefault: Joi.boolean().default(false).description('Every user created from then on becomes a member (at most one group is the default)'),
  key,
  price,
  paused: Joi.boolean().default(false).description('A paused group does not change'),
});

/** PATCH /groups/{id}: what it names changes. The type is fixed; the rule changes through PUT /rule. */
export const patchGroupSchema = Joi.object({
  name,
  description: description.allow(null),
  type: Joi.forbidden().description('Fixed at creation').messages({ 'any.unknown': 'cannot change; create another group' }),
  rule: Joi.forbidden().description('Changes through PUT /api/v1/groups/{id}/rule (versioned)').messages({ 'any.unknown': 'changes through PUT /api/v1/groups/{id}/rule (versioned)' }),
  manualMembers: Joi.string().valid(...MANUAL_MEMBER_POLICIES),
  includeInactive: Joi.boolean(),
  courses,
  isDefault: Joi.boolean(),
  key: key.allow(null),
  price: price.allow(null),
  paused: Joi.boolean(),
})
  .min(1)
  .messages({ 'object.min': 'names nothing to change' });

export { ruleBodySchema };
export const previewBodySchema = Joi.object({
  rule: ruleDocumentSchema.description('A proposed rule; absent: the stored one'),
  // A string (bodies are validated without conversion); the route makes it a Date.
  at: Joi.string()
    .isoDate()
    .description('Evaluate at this instant (now or later; absent: now): who would join and leave by then, with `flipsBefore` counting those that time alone moves'),
});
export const groupSyncBodySchema = Joi.object({ confirmRemovals: Joi.boolean().default(false).description('Apply the removals the safety valve holds') });
export const groupKeyBodySchema = Joi.object({ maxUses: Joi.number().integer().min(1).max(1_000_000_000).description('How many users the new key admits; absent: as the old key did') });
export const joinBodySchema = Joi.object({
  key: Joi.string().max(200).required().description('The group key (POST /api/v1/groups/{id}/key)'),
  externalId: externalIdSchema.required().description('The user who joins'),
});
export const fullSyncBodySchema = Joi.object({ partitions: Joi.number().integer().min(1).max(64).description('How many partitions the directory is split into (default: one per 20,000 users)') });

export interface GroupInput {
  name: string;
  description?: string;
  type: 'manual' | 'automatic';
  rule?: unknown;
  manualMembers: 'remove' | 'keep' | 'keep-staff';
  includeInactive: boolean;
  courses: string[];
  isDefault: boolean;
  key?: { enabled: boolean; maxUses?: number };
  price?: number;
  paused: boolean;
}

export type GroupPatch = Partial<Omit<GroupInput, 'type' | 'rule' | 'description' | 'key' | 'price'>> & {
  description?: string | null;
  key?: { enabled: boolean; maxUses?: number } | null;
  price?: number | null;
};
