// A rule inside a request body. Its own shape is checked by validateRule, which names each bad place inside it,
// so joi passes it on; the OpenAPI description shows it as the RuleDocument component (rules/rule.schema.json).
import Joi from 'joi';
import { documentedBy } from '../platform/openapi-schema.js';

export const ruleDocumentSchema = documentedBy(Joi.any(), 'RuleDocument');

/** POST /rules/validate and PUT /groups/{id}/rule. */
export const ruleBodySchema = Joi.object({ rule: ruleDocumentSchema.required() });

/** POST /rules/preview: a rule and the one group setting that changes who it selects. */
export const rulePreviewBodySchema = Joi.object({
  rule: ruleDocumentSchema.required(),
  includeInactive: Joi.boolean().default(false).description('As the new group would have it: whether inactive users may be members'),
});
