// The body of PUT /courses/{code}.
import Joi from 'joi';
import { readOnlyAttribute } from '../platform/openapi-schema.js';
import { courseCodeSchema } from './identifiers.js';

export const courseBodySchema = Joi.object({
  title: Joi.string().min(1).max(300).required(),
  // Read-only attributes of the representation, accepted so that a GET can be sent back as a PUT.
  code: courseCodeSchema.description('Optional; must match the path'),
  createdAt: readOnlyAttribute(),
  updatedAt: readOnlyAttribute(),
});

export interface CourseInput {
  title: string;
  code?: string;
}
