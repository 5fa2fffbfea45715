// What the directory's routes validate besides the resources' own bodies: path parameters, list queries, and the
// loose checks of bodies the services check in full (shown in the docs by the full shape they are checked against).
import Joi from 'joi';
import { pageSchema } from '../platform/pagination.js';
import { checkedByService } from '../platform/openapi-schema.js';
import { courseCodeSchema, externalIdSchema, fieldKeySchema, FIELD_KEY_PATTERN, MAX_BATCH_RECORDS } from './identifiers.js';
import { userPatchSchema, userRecordSchema, userReplaceSchema } from './user.schema.js';
import { enrollmentRecordSchema } from './enrollment.schema.js';

const externalId = externalIdSchema.required().description("The user's externalId");
const code = courseCodeSchema.required().description('The course code');

export const fieldKeyParams = Joi.object({ key: fieldKeySchema.required().description('The field key') });
export const userParams = Joi.object({ externalId });
export const courseParams = Joi.object({ code });
export const enrollmentParams = Joi.object({ code, externalId });

const FIELD_FILTER = new RegExp(`^field\\.${FIELD_KEY_PATTERN.source.slice(1)}`);
export const usersQuery = Joi.object({
  ...pageSchema,
  email: Joi.string().min(1).max(254).description('Exact email, case-insensitive'),
  branch: Joi.string().min(1).max(200),
  q: Joi.string()
    .trim()
    .min(1)
    .max(200)
    .description('Find people: users whose externalId, email, first or last name contains each word (case-insensitive), ordered by last and first name; one page of at most `limit`, no cursor. Not combined with the other filters'),
})
  .oxor('q', 'email')
  .oxor('q', 'branch')
  .oxor('q', 'cursor')
  .pattern(FIELD_FILTER, Joi.string().max(1000))
  .description('`field.<key>=<value>`: the exact value of an additional field (converted by its type: number, true/false, YYYY-MM-DD)')
  .messages({ 'object.unknown': 'is not a filter of this list (email, branch, q, field.<key>, limit, cursor)' });

/**
 * A user body is only required to be a JSON object here: the service checks it against the shape and the field
 * definitions in one pass, so that one answer names every problem.
 */
const anObject = Joi.object().unknown(true);
export const userReplaceBody = checkedByService(anObject, userReplaceSchema);
export const userPatchBody = checkedByService(anObject, userPatchSchema);

/**
 * The envelope of a batch, `{ "<list>": [ ...records ] }`. Only it is checked before the service, which checks each
 * record on its own so that one bad record fails alone.
 */
function batchEnvelope(list: 'users' | 'enrollments', record: Joi.ObjectSchema): Joi.ObjectSchema {
  const envelope = Joi.object({ [list]: Joi.array().required() }).messages({ 'object.unknown': `is not allowed (send only the "${list}" array)` });
  return checkedByService(envelope, Joi.object({ [list]: Joi.array().items(record).max(MAX_BATCH_RECORDS).required() }));
}
export const userBatchBody = batchEnvelope('users', userRecordSchema);
export const enrollmentBatchBody = batchEnvelope('enrollments', enrollmentRecordSchema);
