// json-rules-engine configured the way the service configures it: the reference for what a rule means.
// The service evaluates with compiled predicates; this engine serves explain and the differential test.
// Build one Engine per evaluation: an Engine's run status is shared by its runs, and overlapping runs on one
// Engine can silently skip rules.
import { Engine, Operator } from 'json-rules-engine';
import { emailFact, enrollmentFact, fieldFact, memberOfFact, userFact } from './facts.js';
import { CUSTOM_OPERATORS } from './operators.js';
import { assertEvaluable } from './validate-rule.js';
import type { RuleDocument, UserFacts } from './rule.types.js';

export const MATCH_EVENT = 'autogroups.match';

/** An Engine holding this one rule, the five facts of this user, and the custom operators evaluated at `now`. */
export function createEngine(rule: RuleDocument, user: UserFacts, now: Date): Engine {
  assertEvaluable(rule);
  return buildEngine(rule, user, now.getTime());
}

/** createEngine without the validation (callers that validated already, such as the differential test loop). */
export function buildEngine(rule: RuleDocument, user: UserFacts, nowMs: number): Engine {
  return buildEngineForRules([rule], user, nowMs);
}

/**
 * One engine for several validated rules and one user (the benchmark's "engine per user"); rule i fires an
 * event whose params.index is i.
 */
export function buildEngineForRules(rules: readonly RuleDocument[], user: UserFacts, nowMs: number): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const op of CUSTOM_OPERATORS) {
    const cb = op.cb;
    engine.addOperator(new Operator(op.name, (a: unknown, b: unknown) => cb(a, b, nowMs)));
  }
  engine.addFact('email', () => emailFact(user));
  engine.addFact('user', () => userFact(user));
  engine.addFact('field', (params: Record<string, unknown>) => fieldFact(user, String(params.key)));
  engine.addFact('enrollment', (params: Record<string, unknown>) => enrollmentFact(user, String(params.course)));
  engine.addFact('memberOf', (params: Record<string, unknown>) => memberOfFact(user, String(params.group)));
  // The engine mutates condition objects it is given: hand it a copy so the caller's rule stays as it was.
  rules.forEach((rule, index) => {
    engine.addRule({ conditions: structuredClone(rule.conditions) as never, event: { type: MATCH_EVENT, params: { index } } });
  });
  return engine;
}

