// The rule engine's public API. Pure TypeScript: no database, no HTTP.
export type {
  AllCondition,
  AnyCondition,
  BooleanCondition,
  CompiledRule,
  Condition,
  EnrollmentFacts,
  ExplainLeaf,
  GroupExplanation,
  ExplainNode,
  Explanation,
  FieldDef,
  LeafCondition,
  NotCondition,
  RuleDocument,
  RuleIssue,
  RuleUses,
  RuleValidationResult,
  RuleValue,
  UserFacts,
  ValidationContext,
} from './rule.types.js';
export { RuleEvaluationError, InvalidRuleError } from './errors.js';
export { validateRule } from './validate-rule.js';
export { compileRule } from './compile-rule.js';
export { explainRule } from './explain.js';
export { eachLeaf, type LeafVisitor } from './rule-leaves.js';
export { createEngine } from './engine.js';
export {
  operatorCatalogue,
  factCatalogue,
  ruleTemplates,
  ruleSchema,
  fillTemplate,
  type DecoratorInfo,
  type FactInfo,
  type FactPathInfo,
  type OperatorInfo,
  type RuleTemplate,
  type TemplatePlaceholder,
} from './catalogue.js';
