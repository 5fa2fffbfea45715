// What every check of a rule validates against: the directory's field definitions and courses, and the groups a
// `memberOf` may name, with their graph (for graphIssues). Its own module, apart from group-graph.ts, which the
// membership evaluation imports: the directory's side of it leads back to the membership reactions.
import type { ValidationContext } from '../rules/index.js';
import { loadRuleValidationContext } from '../directory/rule-context.js';
import { loadGroupGraph, type GroupGraph } from './group-graph.js';

export async function ruleValidationContext(): Promise<{ ctx: ValidationContext; graph: GroupGraph }> {
  const [ctx, graph] = await Promise.all([loadRuleValidationContext(), loadGroupGraph()]);
  return { ctx: { ...ctx, groups: graph.names() }, graph };
}
