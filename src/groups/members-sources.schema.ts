// Input of the member sources (copy, CSV association upload). Exactly-one-of is checked by the route, so that the
// problem document names both fields (joi's xor names neither).
import Joi from 'joi';
import type { FieldError } from '../platform/errors.js';
import { groupIdSchema } from './groups.schema.js';

export const copyBodySchema = Joi.object({
  fromGroup: groupIdSchema.description('Copy the members of this group'),
  fromBranch: Joi.string().min(1).max(200).description('Copy the users of this branch (as GET /users?branch= lists them)'),
});

/** Both or neither given: an error for each of the two fields. */
export function copySourceErrors(body: { fromGroup?: string; fromBranch?: string }): FieldError[] {
  const given = [body.fromGroup, body.fromBranch].filter((v) => v !== undefined).length;
  if (given === 1) return [];
  const problem = given === 0 ? 'is missing' : 'is given';
  const both = given === 0 ? 'neither was given' : 'both were given';
  return [
    { path: 'fromGroup', message: `${problem}: name exactly one of fromGroup and fromBranch (${both})` },
    { path: 'fromBranch', message: `${problem}: name exactly one of fromGroup and fromBranch (${both})` },
  ];
}
