// /api/v1/rules: validate a rule against the current directory, and the catalogues from the repository's rules/.
import { Router } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { factCatalogue, operatorCatalogue, ruleTemplates, validateRule } from './index.js';
import { ruleValidateBodySchema } from './rule-body.schema.js';
import { graphIssues } from '../groups/group-graph.js';
import { ruleValidationContext } from '../groups/rule-check.js';
import { branchesInUse } from '../directory/branches.js';
import type { FactInfo } from './catalogue.js';
import type { RuleDocument } from './index.js';
import { ValidationError } from '../platform/errors.js';
import { previewGroup } from '../membership/group-sync.js';
import { withSampleUsers } from '../directory/user-lookup.js';
import type { GroupDoc } from '../groups/group.model.js';
import { rulePreviewBodySchema } from './rule-body.schema.js';

/**
 * The group a rule preview is computed for: a new automatic group with the defaults POST /groups gives, no
 * members and no exclusions yet (its id is one no group can have).
 */
function newGroupFor(rule: RuleDocument, includeInactive: boolean): GroupDoc {
  const now = new Date();
  return { _id: 'grp_preview', name: '', nameLower: '', scope: '', type: 'automatic', rule, ruleVersion: 0, manualMembers: 'remove', includeInactive, paused: false, courses: [], createdAt: now, updatedAt: now };
}

export { rulesOpenApi, rulesSchemas } from './rules.openapi.js';

/** The catalogue with the branches in use on the `user` fact's `$.branch` path (`values`, sorted). */
function withBranches(facts: readonly FactInfo[], branches: { values: string[]; truncated: boolean }): FactInfo[] {
  return facts.map((fact) =>
    fact.name !== 'user'
      ? fact
      : { ...fact, paths: fact.paths.map((p) => (p.path === '$.branch' ? { ...p, values: branches.values, ...(branches.truncated ? { valuesTruncated: true } : {}) } : p)) },
  );
}

export function rulesRoutes(_deps: RouteDeps): Router {
  const router = Router();

  router.post(
    '/rules/validate',
    requirePermission('rules:read'),
    validate({ body: ruleValidateBodySchema }),
    async (req, res) => {
      const { rule, group } = req.body as { rule: unknown; group?: string };
      const { ctx, graph } = await ruleValidationContext();
      const result = validateRule(rule, ctx);
      if (result.valid && group) {
        result.errors.push(...graphIssues(rule, group, graph));
        result.valid = result.errors.length === 0;
      }
      res.json(
        result.valid
          ? { valid: true, ...(result.warnings.length ? { warnings: result.warnings } : {}) }
          : { valid: false, errors: result.errors, warnings: result.warnings },
      );
    },
  );

  // Who a rule would select as a new group's members: what support staff check before creating one.
  router.post('/rules/preview', requirePermission('rules:read', 'users:read'), validate({ body: rulePreviewBodySchema }), async (req, res) => {
    const { rule, includeInactive } = req.body as { rule: unknown; includeInactive: boolean };
    const result = validateRule(rule, (await ruleValidationContext()).ctx);
    if (!result.valid) {
      throw new ValidationError(`The rule has ${result.errors.length} error${result.errors.length > 1 ? 's' : ''}.`, result.errors.map((e) => ({ path: e.path ? `rule.${e.path}` : 'rule', message: e.message })));
    }
    res.json(await withSampleUsers(await previewGroup(newGroupFor(rule as RuleDocument, includeInactive), rule as RuleDocument, new Date())));
  });

  router.get('/rules/operators', requirePermission('rules:read'), validate({}), (_req, res) => {
    const { operators, decorators } = operatorCatalogue();
    res.json({ items: operators, decorators });
  });

  router.get('/rules/facts', requirePermission('rules:read'), validate({}), async (_req, res) => {
    res.json({ items: withBranches(factCatalogue(), await branchesInUse()) });
  });

  router.get('/rules/templates', requirePermission('rules:read'), validate({}), (_req, res) => {
    res.json({ items: ruleTemplates() });
  });

  return router;
}
