// The one definition of a user's input, used by PUT, PATCH, the batch feed, CSV import and the seed loader:
// the joi schemas for the shape, and checkUserRecord() that adds the checks against field definitions.
import Joi from 'joi';
import type { FieldError } from '../platform/errors.js';
import { alongsideScreen, joiErrors, screenInput } from '../platform/validate.js';
import { readOnlyAttribute } from '../platform/openapi-schema.js';
import { externalIdSchema } from './identifiers.js';
import { checkFieldValues, type FieldDefinitions, type FieldValue } from './user-values.js';

export const USER_TYPES = ['learner', 'staff'] as const;
export const USER_STATUSES = ['active', 'inactive'] as const;
type UserType = (typeof USER_TYPES)[number];
export type UserStatus = (typeof USER_STATUSES)[number];

const name = Joi.string().min(1).max(200);
const attributes = {
  email: Joi.string().max(254).email({ tlds: { allow: false } }),
  firstName: name,
  lastName: name,
  type: Joi.string().valid(...USER_TYPES),
  status: Joi.string().valid(...USER_STATUSES),
  branch: Joi.string().min(1).max(200).allow(null),
  // Keys and values are checked against the field definitions (user-values.ts), which joi does not know.
  fields: Joi.object()
    .unknown(true)
    .description('Additional fields by key, each checked against its definition (GET /api/v1/fields): text and select a string, number a number, boolean true or false, date YYYY-MM-DD'),
};
/** Read-only attributes of the representation: accepted and ignored, so that a GET can be sent back. */
const readOnly = { createdAt: readOnlyAttribute(), updatedAt: readOnlyAttribute() };

/** PUT /users/{externalId}: the whole user. `externalId` may be repeated from the path (checked to match). */
export const userReplaceSchema = Joi.object({
  externalId: externalIdSchema.description('Optional; must match the path'),
  email: attributes.email.required(),
  firstName: attributes.firstName.required(),
  lastName: attributes.lastName.required(),
  type: attributes.type.required(),
  status: attributes.status.default('active'),
  branch: attributes.branch,
  fields: attributes.fields.default({}),
  ...readOnly,
});

/** One record of POST /users/batch or one CSV row: the whole user, with its externalId. */
export const userRecordSchema = userReplaceSchema.keys({ externalId: externalIdSchema.required() });

/** PATCH /users/{externalId}: only what it names; `null` clears `branch` or a field. */
export const userPatchSchema = Joi.object({
  externalId: externalIdSchema.description('Optional; must match the path'),
  ...attributes,
  fields: attributes.fields.description('Merged into the stored fields; null clears one. Each value checked against its definition (GET /api/v1/fields)'),
  ...readOnly,
});

/**
 * A user's attributes as stored (without identity, enrolments and timestamps): the one definition of the user's
 * shape. The stored document (UserDoc), the API's view (UserView) and the input (UserInput) are this, plus or minus.
 */
export interface UserRecord {
  email: string;
  firstName: string;
  lastName: string;
  type: UserType;
  status: UserStatus;
  branch?: string;
  fields: Record<string, FieldValue>;
}

/** What a client sends: the record, with `branch: null` to clear it and fields not yet checked. */
export type UserInput = Omit<UserRecord, 'branch' | 'fields'> & {
  externalId?: string;
  branch?: string | null;
  fields: Record<string, unknown>;
};

export type UserPatch = Partial<Omit<UserInput, 'fields'>> & { fields?: Record<string, unknown> };

/** A shape-valid whole user checked against the field definitions. */
function toUserRecord(input: UserInput, defs: FieldDefinitions): { record?: UserRecord; errors: FieldError[] } {
  const { values, errors } = checkFieldValues(input.fields ?? {}, defs, 'omit');
  if (errors.length) return { errors };
  return {
    record: {
      email: input.email,
      firstName: input.firstName,
      lastName: input.lastName,
      type: input.type,
      status: input.status,
      ...(input.branch != null ? { branch: input.branch } : {}),
      fields: values as Record<string, FieldValue>,
    },
    errors: [],
  };
}

/**
 * Untrusted input checked in one pass against the shape and the field definitions, so that one answer names
 * every problem (paths relative to the input), refused keys included. Only the screened copy is read: a refused
 * key (`$`, dotted, `__proto__`, ...) never reaches joi or the field checks.
 */
function checkInput<T>(raw: unknown, schema: Joi.ObjectSchema, defs: FieldDefinitions, nulls: 'clear' | 'omit'): { value?: T; fieldValues?: Record<string, FieldValue | null>; externalId?: string; errors: FieldError[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { errors: [{ path: 'record', message: 'must be an object' }] };
  const screened = screenInput(raw);
  const input = screened.value as Record<string, unknown>;
  const externalId = typeof input.externalId === 'string' ? input.externalId : undefined;
  const { value, error } = schema.validate(input, { abortEarly: false, convert: false });
  const found = error ? joiErrors(error) : [];
  const fields = input.fields;
  const checked = fields !== null && typeof fields === 'object' && !Array.isArray(fields) ? checkFieldValues(fields as Record<string, unknown>, defs, nulls) : undefined;
  if (checked) found.push(...checked.errors);
  const errors = alongsideScreen(screened.errors, found);
  if (errors.length) return { externalId, errors };
  return { externalId, value: value as T, fieldValues: checked?.values ?? {}, errors: [] };
}

/** The body of PUT /users/{externalId}. */
export function checkUserReplace(raw: unknown, defs: FieldDefinitions): { input?: UserInput; record?: UserRecord; errors: FieldError[] } {
  const { value, errors } = checkInput<UserInput>(raw, userReplaceSchema, defs, 'omit');
  if (!value) return { errors };
  return { input: value, ...toUserRecord(value, defs) };
}

/** The body of PATCH /users/{externalId}: the patch and its field values (`null` = clear). */
export function checkUserPatch(raw: unknown, defs: FieldDefinitions): { patch?: UserPatch; fieldValues?: Record<string, FieldValue | null>; errors: FieldError[] } {
  const { value, fieldValues, errors } = checkInput<UserPatch>(raw, userPatchSchema, defs, 'clear');
  return value ? { patch: value, fieldValues: fieldValues!, errors } : { errors };
}

/** A batch record or CSV row. */
export function checkUserRecord(raw: unknown, defs: FieldDefinitions): { externalId?: string; record?: UserRecord; errors: FieldError[] } {
  const { value, externalId, errors } = checkInput<UserInput & { externalId: string }>(raw, userRecordSchema, defs, 'omit');
  if (!value) return { externalId, errors };
  return { externalId: value.externalId, ...toUserRecord(value, defs) };
}
