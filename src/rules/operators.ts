// Operator semantics, in one table shared by json-rules-engine (engine.ts registers the custom ones) and the
// compiled predicate (compile-predicate.ts). The built-ins and decorators below restate json-rules-engine
// 7.3.1's own definitions (dist/engine-default-operators.js, engine-default-operator-decorators.js) expression for
// expression, including their fact-value validators, so that the predicate means exactly what the engine means.
import { DAY_MS, addDays, parseDate } from './dates.js';
import type { RE2JS } from 're2js';
import { compilePattern } from './regex.js';

/** An operator: `validator(a) && cb(a, b)`, as json-rules-engine's Operator.evaluate. `now` is ms since the epoch. */
export type Evaluate = (factValue: unknown, value: unknown, now: number) => boolean;

export interface OperatorDef {
  name: string;
  /** json-rules-engine's factValueValidator; absent = always true. */
  validator?: (factValue: unknown) => boolean;
  cb: Evaluate;
  /** For custom operators: the same test with the condition value prepared once (the compiled path). */
  prepare?: (value: unknown) => (factValue: unknown, now: number) => boolean;
}

export interface DecoratorDef {
  name: string;
  validator?: (factValue: unknown) => boolean;
  cb: (factValue: unknown, value: unknown, next: Evaluate, now: number) => boolean;
}

/** Regex input is bounded: `matches` tests only the first MATCH_INPUT_LIMIT characters of the fact value. */
export const MATCH_INPUT_LIMIT = 1000;

/* eslint-disable @typescript-eslint/no-explicit-any -- the built-ins are restated verbatim over untyped JS values */
function numberValidator(factValue: unknown): boolean {
  return Number.parseFloat(factValue as any).toString() !== 'NaN';
}

export const BUILTIN_OPERATORS: readonly OperatorDef[] = [
  { name: 'equal', cb: (a, b) => a === b },
  { name: 'notEqual', cb: (a, b) => a !== b },
  { name: 'in', cb: (a, b) => (b as any).indexOf(a) > -1 },
  { name: 'notIn', cb: (a, b) => (b as any).indexOf(a) === -1 },
  { name: 'contains', cb: (a, b) => (a as any).indexOf(b) > -1, validator: Array.isArray },
  { name: 'doesNotContain', cb: (a, b) => (a as any).indexOf(b) === -1, validator: Array.isArray },
  { name: 'lessThan', cb: (a, b) => (a as any) < (b as any), validator: numberValidator },
  { name: 'lessThanInclusive', cb: (a, b) => (a as any) <= (b as any), validator: numberValidator },
  { name: 'greaterThan', cb: (a, b) => (a as any) > (b as any), validator: numberValidator },
  { name: 'greaterThanInclusive', cb: (a, b) => (a as any) >= (b as any), validator: numberValidator },
];

export const DECORATORS: readonly DecoratorDef[] = [
  { name: 'someFact', cb: (a, b, next, now) => (a as any[]).some((fv) => next(fv, b, now)), validator: Array.isArray },
  { name: 'someValue', cb: (a, b, next, now) => (b as any[]).some((jv) => next(a, jv, now)) },
  { name: 'everyFact', cb: (a, b, next, now) => (a as any[]).every((fv) => next(fv, b, now)), validator: Array.isArray },
  { name: 'everyValue', cb: (a, b, next, now) => (b as any[]).every((jv) => next(a, jv, now)) },
  { name: 'swap', cb: (a, b, next, now) => next(b, a, now) },
  { name: 'not', cb: (a, b, next, now) => !next(a, b, now) },
];
/* eslint-enable @typescript-eslint/no-explicit-any */

// --- custom operators. They never throw, whatever they are given: a wrong type is simply false. ---

function textTest(test: (fact: string, value: string) => boolean): Pick<OperatorDef, 'cb' | 'prepare'> {
  return {
    cb: (a, b) => typeof a === 'string' && typeof b === 'string' && test(a, b),
    prepare: (b) => {
      if (typeof b !== 'string') return () => false;
      return (a) => typeof a === 'string' && test(a, b);
    },
  };
}

function includesText(): Pick<OperatorDef, 'cb' | 'prepare'> {
  return {
    cb: (a, b) => typeof a === 'string' && typeof b === 'string' && a.toLowerCase().includes(b.toLowerCase()),
    prepare: (b) => {
      if (typeof b !== 'string') return () => false;
      const needle = b.toLowerCase();
      return (a) => typeof a === 'string' && a.toLowerCase().includes(needle);
    },
  };
}

function regexTest(re: RE2JS, a: unknown): boolean {
  if (typeof a !== 'string') return false;
  // RE2's test() searches anywhere in the text, as RegExp.prototype.test does: anchor with ^ and $ (or \z).
  return re.test(a.length > MATCH_INPUT_LIMIT ? a.slice(0, MATCH_INPUT_LIMIT) : a);
}

/** Compiled patterns of the engine path, where the pattern arrives with every evaluation. Bounded. */
const regexCache = new Map<string, RE2JS | null>();
function cachedRegex(pattern: string): RE2JS | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    const compiled = compilePattern(pattern);
    re = compiled.ok ? compiled.regex : null;
    if (regexCache.size >= 500) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function matches(): Pick<OperatorDef, 'cb' | 'prepare'> {
  return {
    // A pattern RE2 refuses never runs: it is false, as if it matched nothing (validation refuses it first).
    cb: (a, b) => {
      if (typeof b !== 'string') return false;
      const re = cachedRegex(b);
      return re !== null && regexTest(re, a);
    },
    prepare: (b) => {
      if (typeof b !== 'string') return () => false;
      const re = cachedRegex(b);
      if (re === null) return () => false;
      return (a) => regexTest(re, a);
    },
  };
}

function dateCompare(test: (fact: number, value: number) => boolean): Pick<OperatorDef, 'cb' | 'prepare'> {
  return {
    cb: (a, b) => {
      const fact = parseDate(a);
      const value = parseDate(b);
      return !Number.isNaN(fact) && !Number.isNaN(value) && test(fact, value);
    },
    prepare: (b) => {
      const value = parseDate(b);
      if (Number.isNaN(value)) return () => false;
      return (a) => {
        const fact = parseDate(a);
        return !Number.isNaN(fact) && test(fact, value);
      };
    },
  };
}

function isDays(b: unknown): b is number {
  return typeof b === 'number' && Number.isFinite(b) && b >= 0;
}

/**
 * A day-relative test, given the fact's instant and the instant `days` after it. For an instant fact that is
 * `fact + days × 24 h`; for a calendar date ('YYYY-MM-DD', a day in TIMEZONE) it is the start of the day `days`
 * whole days later there (plus the fraction as hours), so such rules flip at local midnight on 23- and 25-hour days.
 * Instants keep the comparison `fact ⋚ now − days × 24 h` exactly as written, which the database filter mirrors.
 */
function relativeDays(
  instant: (fact: number, days: number, now: number) => boolean,
  calendar: (fact: number, shifted: number, now: number) => boolean,
): Pick<OperatorDef, 'cb' | 'prepare'> {
  const test = (a: unknown, days: number, now: number): boolean => {
    const fact = parseDate(a);
    if (Number.isNaN(fact)) return false;
    return (a as string).length === 10 ? calendar(fact, addDays(a, days), now) : instant(fact, days, now);
  };
  return {
    cb: (a, b, now) => isDays(b) && test(a, b, now),
    prepare: (b) => {
      if (!isDays(b)) return () => false;
      return (a, now) => test(a, b, now);
    },
  };
}

export const CUSTOM_OPERATORS: readonly OperatorDef[] = [
  { name: 'includesText', ...includesText() },
  { name: 'startsWith', ...textTest((a, b) => a.startsWith(b)) },
  { name: 'endsWith', ...textTest((a, b) => a.endsWith(b)) },
  { name: 'matches', ...matches() },
  {
    name: 'exists',
    cb: (a, b) => typeof b === 'boolean' && (a !== undefined && a !== null) === b,
    prepare: (b) => (typeof b === 'boolean' ? (a) => (a !== undefined && a !== null) === b : () => false),
  },
  { name: 'before', ...dateCompare((a, b) => a < b) },
  { name: 'after', ...dateCompare((a, b) => a > b) },
  // Within the last N days: from now − N days up to now, both inclusive; a date in the future is not within.
  {
    name: 'withinLastDays',
    ...relativeDays(
      (a, days, now) => a >= now - days * DAY_MS && a <= now,
      (a, shifted, now) => now <= shifted && a <= now,
    ),
  },
  // Strictly earlier than now − N days.
  { name: 'moreThanDaysAgo', ...relativeDays((a, days, now) => a < now - days * DAY_MS, (_a, shifted, now) => now > shifted) },
];

export const OPERATORS: ReadonlyMap<string, OperatorDef> = new Map(
  [...BUILTIN_OPERATORS, ...CUSTOM_OPERATORS].map((op) => [op.name, op]),
);
export const DECORATOR_MAP: ReadonlyMap<string, DecoratorDef> = new Map(DECORATORS.map((d) => [d.name, d]));

export const TIME_DEPENDENT_OPERATORS: ReadonlySet<string> = new Set(['withinLastDays', 'moreThanDaysAgo']);

export function evaluateOperator(op: OperatorDef): Evaluate {
  const { validator, cb } = op;
  return validator ? (a, b, now) => validator(a) && cb(a, b, now) : cb;
}

/** json-rules-engine's OperatorDecorator.decorate: the decorator's validator, then its callback around `next`. */
export function decorate(decorator: DecoratorDef, next: Evaluate): Evaluate {
  const { validator, cb } = decorator;
  return validator ? (a, b, now) => validator(a) && cb(a, b, next, now) : (a, b, now) => cb(a, b, next, now);
}

/** `'not:someValue:equal'` → `{ decorators: ['not', 'someValue'], base: 'equal' }` (as OperatorMap.get splits it). */
export function splitOperator(name: string): { decorators: string[]; base: string } {
  const parts = name.split(':');
  const base = parts.pop() ?? '';
  return { decorators: parts, base };
}
