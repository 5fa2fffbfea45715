// The compiled predicate: a rule turned once into nested closures over a user's facts. Fact access is resolved
// at compile time (no JSONPath at evaluation), operators come from the same table the engine is given, and the
// all/any/not tree short-circuits — which is safe because a structurally valid rule cannot throw mid-evaluation,
// so evaluation order cannot change the result the way it could in json-rules-engine.
import {
  emailFact,
  enrollmentFact,
  fieldFact,
  memberOfFact,
  pathKey,
  resolvePath,
  userProperty,
} from './facts.js';
import {
  DECORATOR_MAP,
  OPERATORS,
  TIME_DEPENDENT_OPERATORS,
  decorate,
  evaluateOperator,
  splitOperator,
  type OperatorDef,
} from './operators.js';
import type { Condition, LeafCondition, RuleDocument, RuleUses, RuleValue, UserFacts } from './rule.types.js';

export type Predicate = (user: UserFacts, now: number) => boolean;
type FactTest = (factValue: unknown, now: number) => boolean;
type FactGetter = (user: UserFacts) => unknown;

/* eslint-disable @typescript-eslint/no-explicit-any -- the built-ins are restated over untyped JS values */
/** json-rules-engine's `parseFloat(a).toString() !== 'NaN'`, without building the string. */
function numberValidator(a: unknown): boolean {
  return typeof a === 'number' ? !Number.isNaN(a) : !Number.isNaN(Number.parseFloat(a as any));
}

/** An undecorated built-in with its value bound: same expressions as operators.ts, minus the argument passing. */
function preparedBuiltin(name: string, b: any): FactTest | null {
  switch (name) {
    case 'equal':
      return (a) => a === b;
    case 'notEqual':
      return (a) => a !== b;
    case 'in':
      if (Array.isArray(b) && b.length > 8) {
        // A Set agrees with indexOf on JSON values (SameValueZero vs ===: only NaN differs, and JSON has none).
        const set = new Set<unknown>(b);
        return (a) => set.has(a);
      }
      return (a) => b.indexOf(a) > -1;
    case 'notIn':
      if (Array.isArray(b) && b.length > 8) {
        const set = new Set<unknown>(b);
        return (a) => !set.has(a);
      }
      return (a) => b.indexOf(a) === -1;
    case 'lessThan':
      return (a: any) => numberValidator(a) && a < b;
    case 'lessThanInclusive':
      return (a: any) => numberValidator(a) && a <= b;
    case 'greaterThan':
      return (a: any) => numberValidator(a) && a > b;
    case 'greaterThanInclusive':
      return (a: any) => numberValidator(a) && a >= b;
    default:
      return null;
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function prepared(op: OperatorDef, value: RuleValue): FactTest {
  const fast = op.prepare ? op.prepare(value) : preparedBuiltin(op.name, value);
  if (fast) return fast;
  const evaluate = evaluateOperator(op);
  return (a, now) => evaluate(a, value, now);
}

/** The operator (with its decorators, applied as json-rules-engine applies them) bound to the condition value. */
export function compileOperator(name: string, value: RuleValue): FactTest {
  const { decorators, base } = splitOperator(name);
  const op = OPERATORS.get(base);
  if (!op) throw new Error(`unknown operator ${base}`); // unreachable for a structurally valid rule
  if (decorators.every((d) => d === 'not')) {
    const test = prepared(op, value);
    return decorators.length % 2 === 0 ? test : (a, now) => !test(a, now);
  }
  let evaluate = evaluateOperator(op);
  for (const d of [...decorators].reverse()) evaluate = decorate(DECORATOR_MAP.get(d)!, evaluate);
  return (a, now) => evaluate(a, value, now);
}

function compileFact(leaf: LeafCondition, uses: RuleUses): FactGetter {
  const key = leaf.path === undefined ? null : pathKey(leaf.path);
  switch (leaf.fact) {
    case 'email':
      return emailFact;
    case 'user': {
      const k = key!;
      return (user) => userProperty(user, k);
    }
    case 'field': {
      const fieldKey = String(leaf.params?.key);
      uses.fields.add(fieldKey);
      return (user) => fieldFact(user, fieldKey);
    }
    case 'enrollment': {
      const course = String(leaf.params?.course);
      uses.courses.add(course);
      if (key === null) return (user) => enrollmentFact(user, course);
      return (user) => resolvePath(enrollmentFact(user, course), key);
    }
    case 'memberOf': {
      const group = String(leaf.params?.group);
      uses.groups.add(group);
      return (user) => memberOfFact(user, group);
    }
    default:
      throw new Error(`unknown fact ${leaf.fact}`); // unreachable for a structurally valid rule
  }
}

function compileLeaf(leaf: LeafCondition, uses: RuleUses): Predicate {
  const get = compileFact(leaf, uses);
  const test = compileOperator(leaf.operator, leaf.value);
  if (TIME_DEPENDENT_OPERATORS.has(splitOperator(leaf.operator).base)) uses.timeDependent = true;
  return (user, now) => test(get(user), now);
}

function compileNode(node: Condition, uses: RuleUses): Predicate {
  if ('all' in node) {
    const parts = node.all.map((c) => compileNode(c, uses));
    if (parts.length === 0) return () => true;
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 2) {
      const [p, q] = parts as [Predicate, Predicate];
      return (u, n) => p(u, n) && q(u, n);
    }
    return (u, n) => {
      for (const p of parts) if (!p(u, n)) return false;
      return true;
    };
  }
  if ('any' in node) {
    const parts = node.any.map((c) => compileNode(c, uses));
    // json-rules-engine answers true for an empty "any" (prioritizeAndRun resolves true for no conditions).
    if (parts.length === 0) return () => true;
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 2) {
      const [p, q] = parts as [Predicate, Predicate];
      return (u, n) => p(u, n) || q(u, n);
    }
    return (u, n) => {
      for (const p of parts) if (p(u, n)) return true;
      return false;
    };
  }
  if ('not' in node) {
    const inner = compileNode(node.not, uses);
    return (u, n) => !inner(u, n);
  }
  return compileLeaf(node, uses);
}

/** Compiles a structurally valid rule (callers check first) and records what it reads. */
export function compilePredicate(rule: RuleDocument, uses: RuleUses): Predicate {
  return compileNode(rule.conditions, uses);
}
