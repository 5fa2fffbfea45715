// Validation of a rule document, in two layers:
//  - structure (no context needed): the document is a json-rules-engine rule this service can evaluate without
//    any runtime error — known facts, params, paths and operators; values of the shape each operator (and each
//    decorator around it) needs; regular expressions RE2 accepts; size limits. compileRule refuses anything else.
//  - meaning (needs field definitions and courses): the field exists, the operator suits the fact's type, enum
//    values exist, and so on. Unknown courses are warnings: a course may be created after the rule.
// Every issue names its place, e.g. `conditions.all[2].value` or `conditions.any[0].not.all[1].operator`.
import { parseDate } from './dates.js';
import { InvalidRuleError } from './errors.js';
import {
  ENROLLMENT_MODES,
  ENROLLMENT_PATH_KEYS,
  ENROLLMENT_ROLES,
  ENROLLMENT_STATUSES,
  FACT_NAMES,
  GROUP_ID,
  USER_PATH_KEYS,
  USER_STATUSES,
  USER_TYPES,
  pathKey,
  type FactName,
} from './facts.js';
import {
  MAX_ARRAY_LENGTH,
  MAX_CONDITIONS,
  MAX_DAYS,
  MAX_DECORATORS,
  MAX_DEPTH,
  MAX_GROUPS,
  MAX_ISSUES,
  MAX_STRING_LENGTH,
} from './limits.js';
import { DECORATOR_MAP, OPERATORS, splitOperator } from './operators.js';
import { checkPattern } from './regex.js';
import type { RuleDocument, RuleIssue, RuleValidationResult, RuleValue, ValidationContext } from './rule.types.js';

const FIELD_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const LEAF_KEYS = new Set(['fact', 'operator', 'value', 'params', 'path']);
const BOOLEAN_KEYS = ['all', 'any', 'not'] as const;

type Kind =
  | { type: 'text' | 'number' | 'boolean' | 'object'; label: string }
  | { type: 'date'; label: string; dateOnly: boolean }
  | { type: 'enum'; label: string; options: readonly string[]; fixed: boolean };

/** One static operand reaching the base operator, with the place it came from. */
interface Operand {
  v: RuleValue;
  path: string;
}
type Side = { fact: true; element: boolean } | { fact: false; values: Operand[] };

const hasOwn = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isScalar = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

class Stop extends Error {}

class RuleChecker {
  readonly errors: RuleIssue[] = [];
  readonly warnings: RuleIssue[] = [];
  private leaves = 0;
  private groups = 0;

  constructor(private readonly ctx: ValidationContext | undefined) {}

  private error(path: string, message: string): void {
    this.errors.push({ path, message });
    if (this.errors.length >= MAX_ISSUES) throw new Stop();
  }

  private warn(path: string, message: string): void {
    if (this.warnings.length < MAX_ISSUES) this.warnings.push({ path, message });
  }

  /** Keys of any object in a rule: never `$…` or dotted (they would be operators or paths to the database). */
  private keyIsSafe(key: string, path: string): boolean {
    if (key.startsWith('$') || key.includes('.')) {
      this.error(path, 'keys starting with "$" or containing "." are refused');
      return false;
    }
    return true;
  }

  rule(doc: unknown): void {
    if (!isObject(doc)) return this.error('', 'a rule must be an object: { "conditions": { "all" | "any" | "not": ... } }');
    for (const key of Object.keys(doc)) {
      if (key !== 'conditions' && this.keyIsSafe(key, key)) this.error(key, 'unknown key: a rule has only "conditions"');
    }
    if (!hasOwn(doc, 'conditions')) return this.error('conditions', 'is required');
    this.node(doc.conditions, 'conditions', 1, true);
  }

  private node(node: unknown, path: string, depth: number, root = false): void {
    if (!isObject(node)) return this.error(path, 'a condition must be an object');
    const present = BOOLEAN_KEYS.filter((k) => hasOwn(node, k));
    if (present.length === 0) {
      if (root) return this.error(path, 'the root condition must be "all", "any" or "not"');
      return this.leaf(node, path);
    }
    if (present.length > 1) this.error(path, `has both "${present[0]}" and "${present[1]}": a condition has one of all, any, not`);
    for (const key of Object.keys(node)) {
      if (!(BOOLEAN_KEYS as readonly string[]).includes(key) && this.keyIsSafe(key, `${path}.${key}`)) {
        this.error(`${path}.${key}`, `unknown key: an "${present[0]}" condition has no other key`);
      }
    }
    if (depth > MAX_DEPTH) return this.error(path, `conditions are nested deeper than ${MAX_DEPTH} levels`);
    if (++this.groups > MAX_GROUPS) {
      this.error(path, `a rule has at most ${MAX_GROUPS} all/any/not groups`);
      throw new Stop();
    }
    const key = present[0]!;
    const child = node[key];
    if (key === 'not') {
      if (Array.isArray(child)) return this.error(`${path}.not`, '"not" takes one condition, not a list');
      return this.node(child, `${path}.not`, depth + 1);
    }
    if (!Array.isArray(child)) return this.error(`${path}.${key}`, `"${key}" must be a list of conditions`);
    if (child.length === 0 && key === 'any' && this.ctx) {
      this.error(`${path}.any`, 'an empty "any" is true for everyone in json-rules-engine: add a condition or remove it');
    }
    child.forEach((c, i) => this.node(c, `${path}.${key}[${i}]`, depth + 1));
  }

  private leaf(node: Record<string, unknown>, path: string): void {
    if (++this.leaves > MAX_CONDITIONS) {
      this.error(path, `a rule has at most ${MAX_CONDITIONS} conditions`);
      throw new Stop();
    }
    let ok = true;
    for (const key of Object.keys(node)) {
      if (!LEAF_KEYS.has(key) && this.keyIsSafe(key, `${path}.${key}`)) {
        this.error(`${path}.${key}`, 'unknown key: a condition has fact, operator, value, and optionally params and path');
        ok = false;
      }
    }
    for (const key of ['fact', 'operator', 'value']) {
      if (!hasOwn(node, key)) {
        this.error(`${path}.${key}`, 'is required');
        ok = false;
      }
    }
    const fact = this.factOf(node, path);
    const kind = fact === null ? null : this.paramsAndPath(fact, node, path);
    const valueOk = hasOwn(node, 'value') && this.jsonValue(node.value, `${path}.value`, 0);
    if (typeof node.operator !== 'string') {
      if (hasOwn(node, 'operator')) this.error(`${path}.operator`, 'must be a string');
      return;
    }
    if (!ok || !valueOk || fact === null || kind === null) {
      this.operatorName(node.operator, `${path}.operator`); // still report an unknown operator
      return;
    }
    if (fact === 'memberOf') return this.membership(node.operator, node.value as RuleValue, path);
    this.operator(node.operator, node.value as RuleValue, path, kind === 'unknown' ? null : kind);
  }

  /** memberOf yields true or false: `equal` (or `notEqual`, or either under `not:`) with a boolean. */
  private membership(name: string, value: RuleValue, path: string): void {
    const { decorators, base } = splitOperator(name);
    if ((base !== 'equal' && base !== 'notEqual') || decorators.some((d) => d !== 'not') || decorators.length > 1) {
      this.error(`${path}.operator`, 'the memberOf fact is true or false: use "equal" with true (a member) or false (not a member)');
      return;
    }
    if (typeof value !== 'boolean') this.error(`${path}.value`, 'must be true (a member of the group) or false (not a member)');
  }

  private factOf(node: Record<string, unknown>, path: string): FactName | null {
    if (!hasOwn(node, 'fact')) return null;
    const fact = node.fact;
    if (typeof fact !== 'string' || !(FACT_NAMES as readonly string[]).includes(fact)) {
      this.error(`${path}.fact`, `unknown fact ${show(fact)}: facts are ${FACT_NAMES.join(', ')}`);
      return null;
    }
    return fact as FactName;
  }

  /** Checks params and path for the fact; returns the kind of value the condition reads ('unknown' without context). */
  private paramsAndPath(fact: FactName, node: Record<string, unknown>, path: string): Kind | 'unknown' | null {
    const params = this.params(fact, node, path);
    if (params === null) return null;
    const hasPath = hasOwn(node, 'path');
    const rawPath = node.path;
    const pathAt = `${path}.path`;
    let key: string | null = null;
    if (hasPath) {
      key = typeof rawPath === 'string' ? pathKey(rawPath) : null;
      if (fact === 'email' || fact === 'field' || fact === 'memberOf') {
        this.error(pathAt, `the ${fact} fact is a single value and takes no path`);
        return null;
      }
      const allowed: readonly string[] = fact === 'user' ? USER_PATH_KEYS : ENROLLMENT_PATH_KEYS;
      if (key === null || !allowed.includes(key)) {
        this.error(pathAt, `must be one of ${allowed.map((k) => `"$.${k}"`).join(', ')}`);
        return null;
      }
    } else if (fact === 'user') {
      this.error(pathAt, 'the user fact needs a path, e.g. "$.type"');
      return null;
    }
    if (!this.ctx) return 'unknown';
    switch (fact) {
      case 'email':
        return { type: 'text', label: 'the email' };
      case 'user':
        if (key === 'type') return { type: 'enum', label: 'the user type', options: USER_TYPES, fixed: true };
        if (key === 'status') return { type: 'enum', label: 'the user status', options: USER_STATUSES, fixed: true };
        return { type: 'text', label: `the user's ${key}` };
      case 'field': {
        const def = this.ctx.fields.get(params.key!);
        if (!def) {
          this.error(`${path}.params.key`, `no field "${params.key}" is defined`);
          return 'unknown';
        }
        const label = `field "${def.key}"`;
        if (def.type === 'select') return { type: 'enum', label, options: def.options ?? [], fixed: false };
        if (def.type === 'date') return { type: 'date', label, dateOnly: true };
        return { type: def.type, label };
      }
      case 'memberOf': {
        const name = this.ctx.groups?.get(params.group!);
        if (this.ctx.groups && name === undefined) {
          this.error(`${path}.params.group`, `no group "${params.group}" exists`);
          return 'unknown';
        }
        return { type: 'boolean', label: name === undefined ? `membership of ${params.group}` : `membership of "${name}"` };
      }
      case 'enrollment': {
        if (this.ctx.courses && !this.ctx.courses.has(params.course!)) {
          this.warn(`${path}.params.course`, `no course "${params.course}" exists (yet): the condition is false until it does`);
        }
        const label = `the enrolment's ${key}`;
        if (key === null) return { type: 'object', label: 'the enrolment' };
        if (key === 'status') return { type: 'enum', label, options: ENROLLMENT_STATUSES, fixed: true };
        if (key === 'role') return { type: 'enum', label, options: ENROLLMENT_ROLES, fixed: true };
        if (key === 'mode') return { type: 'enum', label, options: ENROLLMENT_MODES, fixed: true };
        if (key === 'enrolledAt' || key === 'completedAt') return { type: 'date', label, dateOnly: false };
        return { type: 'text', label };
      }
    }
  }

  private params(fact: FactName, node: Record<string, unknown>, path: string): { key?: string; course?: string; group?: string } | null {
    const at = `${path}.params`;
    const params = node.params;
    const wanted = fact === 'field' ? 'key' : fact === 'enrollment' ? 'course' : fact === 'memberOf' ? 'group' : null;
    if (!hasOwn(node, 'params') || params === undefined) {
      if (wanted) this.error(at, `the ${fact} fact needs params { "${wanted}": ... }`);
      return wanted ? null : {};
    }
    if (!isObject(params)) {
      this.error(at, 'must be an object');
      return null;
    }
    let ok = true;
    for (const key of Object.keys(params)) {
      if (key !== wanted && this.keyIsSafe(key, `${at}.${key}`)) {
        this.error(`${at}.${key}`, wanted ? `unknown param: the ${fact} fact takes only "${wanted}"` : `the ${fact} fact takes no params`);
        ok = false;
      }
    }
    if (!wanted) return ok ? {} : null;
    const value = params[wanted];
    if (!hasOwn(params, wanted)) {
      this.error(`${at}.${wanted}`, 'is required');
      return null;
    }
    if (wanted === 'key' && (typeof value !== 'string' || !FIELD_KEY.test(value))) {
      this.error(`${at}.key`, 'must be a field key: 1-64 letters, digits or _, starting with a letter');
      return null;
    }
    if (wanted === 'course' && (typeof value !== 'string' || value.length === 0 || value.length > 200 || value.startsWith('$') || value.includes('.'))) {
      this.error(`${at}.course`, 'must be a course code (1-200 characters, no "." and not starting with "$")');
      return null;
    }
    if (wanted === 'group' && (typeof value !== 'string' || !GROUP_ID.test(value))) {
      this.error(`${at}.group`, 'must be a group id: "grp_" and 16 hexadecimal digits');
      return null;
    }
    return ok ? { [wanted]: value as string } : null;
  }

  private jsonValue(v: unknown, path: string, depth: number): boolean {
    if (typeof v === 'string') {
      if (v.length <= MAX_STRING_LENGTH) return true;
      this.error(path, `strings are limited to ${MAX_STRING_LENGTH} characters`);
      return false;
    }
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return true;
      this.error(path, 'must be a finite number');
      return false;
    }
    if (typeof v === 'boolean' || v === null) return true;
    if (Array.isArray(v)) {
      if (v.length > MAX_ARRAY_LENGTH) {
        this.error(path, `lists are limited to ${MAX_ARRAY_LENGTH} items`);
        return false;
      }
      if (depth >= 3) {
        this.error(path, 'lists are nested too deeply');
        return false;
      }
      return v.map((item, i) => this.jsonValue(item, `${path}[${i}]`, depth + 1)).every(Boolean);
    }
    if (isObject(v)) {
      this.error(path, 'a value is a string, number, boolean, null or list, never an object (json-rules-engine would read {"fact": ...} as another fact)');
      return false;
    }
    this.error(path, 'must be a JSON value');
    return false;
  }

  private operatorName(name: string, at: string): { decorators: string[]; base: string } | null {
    const { decorators, base } = splitOperator(name);
    const unknownDecorator = decorators.find((d) => !DECORATOR_MAP.has(d));
    if (unknownDecorator !== undefined || !OPERATORS.has(base)) {
      const what = unknownDecorator !== undefined ? `decorator "${unknownDecorator}"` : `operator "${base}"`;
      this.error(at, `unknown ${what}: operators are ${[...OPERATORS.keys()].join(', ')}; decorators (as "not:equal") are ${[...DECORATOR_MAP.keys()].join(', ')}`);
      return null;
    }
    if (decorators.length > MAX_DECORATORS) {
      this.error(at, `at most ${MAX_DECORATORS} decorators`);
      return null;
    }
    return { decorators, base };
  }

  /**
   * Follows the decorators as json-rules-engine applies them (outermost first), tracking which side of the base
   * operator gets the fact and which gets (elements of) the condition value, then checks each static operand.
   */
  private operator(name: string, value: RuleValue, path: string, kind: Kind | null): void {
    const at = `${path}.operator`;
    const parsed = this.operatorName(name, at);
    if (!parsed) return;
    const { decorators, base } = parsed;
    let left: Side = { fact: true, element: false };
    let right: Side = { fact: false, values: [{ v: value, path: `${path}.value` }] };
    for (const d of decorators) {
      if (d === 'swap') {
        [left, right] = [right, left];
      } else if (d === 'someFact' || d === 'everyFact') {
        if (left.fact) left = { fact: true, element: true };
        else {
          const values = this.elements(left.values, d);
          if (!values) return;
          left = { fact: false, values };
        }
      } else if (d === 'someValue' || d === 'everyValue') {
        if (right.fact) {
          return this.error(at, `"${d}" would call a list method on the user's value (after swap), which fails when the user lacks it`);
        }
        const values = this.elements(right.values, d);
        if (!values) return;
        right = { fact: false, values };
      }
    }
    const factSide = left.fact ? left : right;
    const statics = (left.fact ? right : left) as { fact: false; values: Operand[] };
    const factOnLeft = left.fact;
    if (!this.operands(base, factOnLeft, statics.values, at)) return;
    if (kind === null) return;
    if ((factSide as { element: boolean }).element) {
      return this.error(at, 'someFact/everyFact apply to facts that are lists, and no fact of a user is a list');
    }
    this.meaning(base, factOnLeft, statics.values, kind, at);
  }

  private elements(values: Operand[], decorator: string): Operand[] | null {
    const out: Operand[] = [];
    for (const { v, path } of values) {
      if (!Array.isArray(v)) {
        this.error(path, `must be a list: "${decorator}" takes the items of this value one by one`);
        return null;
      }
      v.forEach((item, i) => out.push({ v: item, path: `${path}[${i}]` }));
    }
    return out;
  }

  /** Structural shape of the static operands for the base operator: what makes it evaluate without error. */
  private operands(base: string, factOnLeft: boolean, values: Operand[], at: string): boolean {
    const each = (test: (v: RuleValue) => boolean, message: string): boolean => {
      let ok = true;
      for (const { v, path } of values) {
        if (!test(v)) {
          this.error(path, message);
          ok = false;
        }
      }
      return ok;
    };
    const listOfScalars = (v: RuleValue): boolean => Array.isArray(v) && v.every(isScalar);
    switch (base) {
      case 'equal':
      case 'notEqual':
        return each(isScalar, 'must be a string, number, boolean or null');
      case 'in':
      case 'notIn':
        if (!factOnLeft) {
          this.error(at, `"${base}" needs its list as the condition value; swapped, it would search the user's value, which fails when the user lacks it`);
          return false;
        }
        return each(listOfScalars, `must be a list of strings, numbers or booleans ("${base}" takes lists only)`);
      case 'contains':
      case 'doesNotContain':
        return factOnLeft
          ? each(isScalar, 'must be a string, number, boolean or null')
          : each(listOfScalars, 'must be a list of strings, numbers or booleans');
      case 'lessThan':
      case 'lessThanInclusive':
      case 'greaterThan':
      case 'greaterThanInclusive':
        return each((v) => typeof v === 'number', 'must be a number: numbers compare as numbers');
      default:
        break;
    }
    if (!factOnLeft) {
      this.error(at, `"${base}" cannot be swapped: its value must be the condition's value`);
      return false;
    }
    switch (base) {
      case 'includesText':
      case 'startsWith':
      case 'endsWith':
        return each((v) => typeof v === 'string' && v.length > 0, 'must be a non-empty string');
      case 'matches': {
        let ok = true;
        for (const { v, path } of values) {
          if (typeof v !== 'string') {
            this.error(path, 'must be a regular expression (RE2 syntax), as a string');
            ok = false;
            continue;
          }
          const reason = checkPattern(v);
          if (reason !== null) {
            this.error(path, `pattern refused: ${reason}`);
            ok = false;
          }
        }
        return ok;
      }
      case 'exists':
        return each((v) => typeof v === 'boolean', 'must be true (the user has a value) or false (the user has none)');
      case 'before':
      case 'after':
        return each(
          (v) => !Number.isNaN(parseDate(v)),
          'must be a date: "YYYY-MM-DD" or an ISO 8601 instant with its offset, e.g. "2025-01-31T09:00:00Z"',
        );
      case 'withinLastDays':
      case 'moreThanDaysAgo':
        return each((v) => typeof v === 'number' && v >= 0 && v <= MAX_DAYS, `must be a number of days, 0 to ${MAX_DAYS}`);
      default:
        this.error(at, `unknown operator "${base}"`);
        return false;
    }
  }

  /** Does the operator make sense for the kind of value the fact holds? */
  private meaning(base: string, factOnLeft: boolean, values: Operand[], kind: Kind, at: string): void {
    const compareByEquality =
      ['equal', 'notEqual', 'in', 'notIn'].includes(base) || (!factOnLeft && (base === 'contains' || base === 'doesNotContain'));
    if (compareByEquality) {
      if (kind.type === 'object') return this.error(at, `compare ${kind.label} through a path such as "$.status", or use "exists"`);
      const scalars = values.flatMap(({ v, path }) => (Array.isArray(v) ? v.map((x, i) => ({ v: x, path: `${path}[${i}]` })) : [{ v, path }]));
      for (const { v, path } of scalars) this.comparable(v, path, kind);
      return;
    }
    switch (base) {
      case 'contains':
      case 'doesNotContain':
        return this.error(at, `"${base}" tests a list, and ${kind.label} is not one: use "includesText" to find text`);
      case 'lessThan':
      case 'lessThanInclusive':
      case 'greaterThan':
      case 'greaterThanInclusive':
        if (kind.type !== 'number') this.error(at, `"${base}" compares numbers, and ${kind.label} is not a number${kind.type === 'date' ? ': use "before" or "after"' : ''}`);
        return;
      case 'includesText':
      case 'startsWith':
      case 'endsWith':
      case 'matches':
        if (kind.type !== 'text' && kind.type !== 'enum') this.error(at, `"${base}" applies to text, and ${kind.label} is not text`);
        return;
      case 'before':
      case 'after':
      case 'withinLastDays':
      case 'moreThanDaysAgo':
        if (kind.type !== 'date') this.error(at, `"${base}" applies to dates, and ${kind.label} is not a date`);
        return;
      default:
        return; // exists: any kind
    }
  }

  private comparable(v: RuleValue, path: string, kind: Kind): void {
    if (v === null) return this.error(path, `null never equals ${kind.label}: use "exists" to test for a missing value`);
    switch (kind.type) {
      case 'number':
        if (typeof v !== 'number') this.error(path, `${kind.label} is a number, so the value must be a number (${show(v)} never equals it)`);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') this.error(path, `${kind.label} is true or false, so the value must be a boolean`);
        return;
      case 'date':
        if (typeof v !== 'string' || Number.isNaN(parseDate(v)) || (kind.dateOnly && v.length !== 10)) {
          this.error(path, `${kind.label} is a date${kind.dateOnly ? ' ("YYYY-MM-DD")' : ''}; compare it with a date of that form, or use before/after`);
        }
        return;
      case 'text':
        if (typeof v !== 'string') this.error(path, `${kind.label} is text, so the value must be a string`);
        return;
      case 'enum':
        if (typeof v !== 'string') return this.error(path, `${kind.label} is one of ${kind.options.join(', ')}; the value must be a string`);
        if (!kind.options.includes(v)) {
          const message = `${show(v)} is not one of ${kind.options.join(', ') || '(no options)'}`;
          if (kind.fixed) this.error(path, message);
          else this.warn(path, `${message}: no user can match it until the option exists`);
        }
        return;
      default:
        return;
    }
  }
}

function run(rule: unknown, ctx: ValidationContext | undefined): RuleValidationResult {
  const checker = new RuleChecker(ctx);
  try {
    checker.rule(rule);
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  return { valid: checker.errors.length === 0, errors: checker.errors, warnings: checker.warnings };
}

/** Full validation, as on every save and `POST /api/v1/rules/validate`. */
export function validateRule(rule: unknown, ctx: ValidationContext): RuleValidationResult {
  return run(rule, ctx);
}

/** Structural validation only: what compileRule and createEngine require. */
export function structuralIssues(rule: unknown): RuleIssue[] {
  return run(rule, undefined).errors;
}

/** Throws InvalidRuleError unless `rule` is structurally valid: what compileRule and createEngine require. */
export function assertEvaluable(rule: unknown): asserts rule is RuleDocument {
  const issues = structuralIssues(rule);
  if (issues.length > 0) throw new InvalidRuleError(issues);
}
