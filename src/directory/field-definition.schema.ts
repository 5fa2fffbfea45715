// The body of PUT /fields/{key}: a label, a type, and options for (and only for) a select.
import Joi from 'joi';
import { readOnlyAttribute } from '../platform/openapi-schema.js';

export const FIELD_TYPES = ['text', 'number', 'date', 'boolean', 'select'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const MAX_SELECT_OPTIONS = 500;

export const fieldDefinitionBodySchema = Joi.object({
  label: Joi.string().min(1).max(200).required(),
  type: Joi.string().valid(...FIELD_TYPES).required(),
  options: Joi.any().description('Required for a select field, refused for the other types').when('type', {
    is: 'select',
    then: Joi.array().items(Joi.string().min(1).max(200)).min(1).max(MAX_SELECT_OPTIONS).unique().required(),
    otherwise: Joi.forbidden().messages({ 'any.unknown': 'is only allowed for a select field' }),
  }),
  // Read-only attributes of the representation, accepted so that a GET can be sent back as a PUT.
  key: readOnlyAttribute(),
  createdAt: readOnlyAttribute(),
  updatedAt: readOnlyAttribute(),
});

export interface FieldDefinitionInput {
  label: string;
  type: FieldType;
  options?: string[];
}
