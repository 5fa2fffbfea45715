// compileRule: a rule, checked once, turned into its predicate, its database filter and what it reads.
import { compileFilter } from './compile-filter.js';
import { compilePredicate } from './compile-predicate.js';
import { assertEvaluable } from './validate-rule.js';
import type { CompiledRule, RuleDocument, RuleUses } from './rule.types.js';

/** Throws InvalidRuleError (a RuleEvaluationError) when the rule is not structurally valid. */
export function compileRule(rule: RuleDocument): CompiledRule {
  assertEvaluable(rule);
  // The compiled closures keep values from the document: keep a private copy so later edits cannot change them.
  const own = structuredClone(rule);
  const uses: RuleUses = { fields: new Set(), courses: new Set(), groups: new Set(), timeDependent: false };
  const predicate = compilePredicate(own, uses);
  return {
    predicate: (user, now) => predicate(user, now.getTime()),
    mongoFilter: (now) => compileFilter(own, now.getTime()),
    uses,
  };
}
