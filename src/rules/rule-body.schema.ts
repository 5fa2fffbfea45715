// A rule inside a request body. Its own shape is checked by validateRule, which names each bad place inside it,
// so joi passes it on; the OpenAPI description shows it as the RuleDocument component (rules/rule.schema.json).
import Joi from 'joi';
import { documentedBy } from '../platform/openapi-schema.js';

export const ruleDocumentSchema = documentedBy(Joi.any(), 'RuleDocument');

/** POST /rules/validate and PUT /groups/{id}/rule. */
export const ruleBodySchema = Joi.object({ rule: ruleDocumentSchema.required() });

/** POST /rules/validate: the rule, and optionally the group it is meant for (a cycle through it is then an error). */
export const ruleValidateBodySchema = Joi.object({
  rule: ruleDocumentSchema.required(),
  group: Joi.string()
    .pattern(/^grp_[0-9a-f]{16}$/)
    .description('The group the rule is meant for: a rule that would name it again, directly or through other groups, is refused with the cycle named'),
});

/** POST /rules/preview: a rule and the one group setting that changes who it selects. */
export const rulePreviewBodySchema = Joi.object({
  rule: ruleDocumentSchema.required(),
  includeInactive: Joi.boolean().default(false).description('As the new group would have it: whether inactive users may be members'),
});
