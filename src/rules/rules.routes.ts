// /api/v1/rules: validate a rule against the current directory, and the catalogues from the repository's rules/.
import { Router } from 'express';
import Joi from 'joi';
import type { RouteDeps } from '../app.js';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { loadRuleValidationContext } from '../directory/rule-context.js';
import { factCatalogue, operatorCatalogue, ruleSchema, ruleTemplates, validateRule } from './index.js';

export function rulesRoutes(_deps: RouteDeps): Router {
  const router = Router();

  router.post(
    '/rules/validate',
    requirePermission('rules:read'),
    // The rule's own shape is checked by validateRule, which names each bad place inside it.
    validate({ body: Joi.object({ rule: Joi.any().required() }) }),
    async (req, res) => {
      const result = validateRule((req.body as { rule: unknown }).rule, await loadRuleValidationContext());
      res.json(
        result.valid
          ? { valid: true, ...(result.warnings.length ? { warnings: result.warnings } : {}) }
          : { valid: false, errors: result.errors, warnings: result.warnings },
      );
    },
  );

  router.get('/rules/operators', requirePermission('rules:read'), validate({}), (_req, res) => {
    const { operators, decorators } = operatorCatalogue();
    res.json({ items: operators, decorators });
  });

  router.get('/rules/facts', requirePermission('rules:read'), validate({}), (_req, res) => {
    res.json({ items: factCatalogue() });
  });

  router.get('/rules/templates', requirePermission('rules:read'), validate({}), (_req, res) => {
    res.json({ items: ruleTemplates() });
  });

  return router;
}

const issue = { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string', example: 'conditions.all[2].value' }, message: { type: 'string' } } };

export const rulesSchemas = {
  // rules/rule.schema.json itself; its $id makes its internal references resolve where it is embedded.
  RuleDocument: (({ $schema: _drop, ...schema }) => schema)(ruleSchema() as Record<string, unknown>),
  RuleIssue: issue,
  RuleValidation: {
    type: 'object',
    required: ['valid'],
    properties: {
      valid: { type: 'boolean' },
      errors: { type: 'array', items: { $ref: '#/components/schemas/RuleIssue' } },
      warnings: { type: 'array', items: { $ref: '#/components/schemas/RuleIssue' }, description: 'e.g. a course that does not exist (yet)' },
    },
  },
};

const list = (description: string) => ({ 200: { description, content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { type: 'object' } } } } } } } });

export const rulesOpenApi = {
  '/api/v1/rules/validate': {
    post: {
      tags: ['rules'],
      summary: 'Check a rule against the current field definitions and courses, changing nothing',
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['rule'], properties: { rule: { $ref: '#/components/schemas/RuleDocument' } } } } } },
      responses: { 200: { description: 'Whether the rule is valid, with each error placed in the rule', content: { 'application/json': { schema: { $ref: '#/components/schemas/RuleValidation' } } } }, 400: { $ref: '#/components/responses/Problem' } },
    },
  },
  '/api/v1/rules/operators': { get: { tags: ['rules'], summary: 'The operator catalogue (and decorators)', responses: list('Operators: name, the facts they apply to, value shape, description, example') } },
  '/api/v1/rules/facts': { get: { tags: ['rules'], summary: 'The facts a rule can read', responses: list('Facts with their params and paths') } },
  '/api/v1/rules/templates': { get: { tags: ['rules'], summary: 'Rules to start from', responses: list('Templates with placeholders') } },
};
