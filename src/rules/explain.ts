// Explanation of one rule for one user, read from json-rules-engine's own result tree: every condition with the
// value the user had and its outcome.
import { createEngine } from './engine.js';
import type { ExplainNode, Explanation, RuleDocument, UserFacts } from './rule.types.js';

interface ResultCondition {
  all?: ResultCondition[];
  any?: ResultCondition[];
  not?: ResultCondition;
  fact?: string;
  params?: Record<string, unknown>;
  path?: string;
  operator?: string;
  value?: unknown;
  factResult?: unknown;
  result?: boolean;
}

function toNode(c: ResultCondition): ExplainNode {
  const result = c.result === true;
  if (Array.isArray(c.all)) return { all: c.all.map(toNode), result };
  if (Array.isArray(c.any)) return { any: c.any.map(toNode), result };
  if (c.not !== undefined) return { not: toNode(c.not), result };
  return {
    fact: String(c.fact),
    ...(c.params !== undefined ? { params: c.params } : {}),
    ...(c.path !== undefined ? { path: c.path } : {}),
    operator: String(c.operator),
    value: c.value,
    factValue: c.factResult,
    result,
  };
}

/** Runs a fresh engine for this one evaluation; rejects with InvalidRuleError for a rule that is not valid. */
export async function explainRule(rule: RuleDocument, user: UserFacts, now: Date): Promise<Explanation> {
  const engine = createEngine(rule, user, now);
  const { results, failureResults } = await engine.run();
  const ruleResult = results[0] ?? failureResults[0];
  if (!ruleResult) throw new Error('json-rules-engine returned no result for the rule'); // cannot happen: one rule, one result
  const matches = results.length > 0;
  // json-rules-engine evaluates the root all/any/not outside its per-condition bookkeeping, so the root node
  // has no result of its own: it is the rule's.
  const root = { ...(ruleResult.conditions as unknown as ResultCondition), result: matches };
  return { matches, conditions: toNode(root) };
}
