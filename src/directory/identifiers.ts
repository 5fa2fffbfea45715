// The identifiers of the directory and the one rule for each. They key documents (`_id`) and, for field keys and
// course codes, paths inside user documents, so none of them may start with '$' or contain '.', and those two
// may not be a prototype key either: as keys of `fields` or `enrollments` they would be refused in every body.
import Joi from 'joi';
import { PROTOTYPE_KEYS } from '../platform/validate.js';

/** A user's externalId: what HR systems call the person. Letters, digits and `._@+-`, starting with a letter or digit. */
export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
/** A field definition's key: 1-64 letters, digits or `_`, starting with a letter (API.md). */
export const FIELD_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** A course code: 1-64 letters, digits, `-` or `_`. */
const COURSE_CODE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const externalIdSchema = Joi.string()
  .pattern(EXTERNAL_ID_PATTERN)
  .messages({ 'string.pattern.base': 'must be 1-128 letters, digits or ._@+- starting with a letter or digit' });
const notAPrototypeKey = { 'any.invalid': `may not be ${PROTOTYPE_KEYS.join(', ')}` };
export const fieldKeySchema = Joi.string()
  .pattern(FIELD_KEY_PATTERN)
  .invalid(...PROTOTYPE_KEYS)
  .messages({ 'string.pattern.base': 'must be 1-64 letters, digits or _ starting with a letter', ...notAPrototypeKey });
export const courseCodeSchema = Joi.string()
  .pattern(COURSE_CODE_PATTERN)
  .invalid(...PROTOTYPE_KEYS)
  .messages({ 'string.pattern.base': 'must be 1-64 letters, digits, - or _', ...notAPrototypeKey });

/** Most records a batch (JSON or CSV) may hold; more is a 413. */
export const MAX_BATCH_RECORDS = 10_000;
