// Seeded generators of rules and users for the differential test, the filter test and the benchmark.
// They aim at the corners where a re-implementation could drift from json-rules-engine: missing facts and
// enrolments, numbers as strings, lists and null where scalars are expected, dates on the boundaries of `now`,
// every operator under every decorator.
import { structuralIssues } from '../../../../src/rules/validate-rule.js';
import type { Condition, LeafCondition, RuleDocument, RuleValue, UserFacts } from '../../../../src/rules/index.js';

export const DAY = 86_400_000;

export interface Random {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    chance: (p) => next() < p,
  };
}

export const NOWS: readonly Date[] = [new Date('2025-01-20T00:00:00.000Z'), new Date('2025-01-20T13:45:10.123Z')];
export const FIELD_KEYS = ['department', 'hireDate', 'age', 'manager', 'code', 'tags'] as const;
export const COURSES = ['C1', 'C2', 'C3'] as const;
export const BASE_OPERATORS = [
  'equal', 'notEqual', 'in', 'notIn', 'contains', 'doesNotContain', 'lessThan', 'lessThanInclusive', 'greaterThan',
  'greaterThanInclusive', 'includesText', 'startsWith', 'endsWith', 'matches', 'exists', 'before', 'after',
  'withinLastDays', 'moreThanDaysAgo',
] as const;
export const DECORATOR_NAMES = ['not', 'swap', 'someValue', 'everyValue', 'someFact', 'everyFact'] as const;

const iso = (ms: number): string => new Date(ms).toISOString();
const dayOnly = (ms: number): string => iso(ms).slice(0, 10);

/** Date strings around `now`: on and beside the boundaries withinLastDays/moreThanDaysAgo use. */
export function dateStrings(now: number): string[] {
  const out: string[] = ['2024-02-30', '2024-01-01T10:00:00', '2024-13-01', '2025-01-10', '2025-01-19T23:00:00-02:00'];
  for (const days of [0, 1, 7, 30, 365]) {
    const t = now - days * DAY;
    out.push(iso(t), iso(t - 1), iso(t + 1), dayOnly(t), dayOnly(t + DAY));
  }
  out.push(iso(now + DAY), `${dayOnly(now)}T00:00:00+01:00`, `${dayOnly(now - 7 * DAY)}T12:00Z`);
  return out;
}

const STRINGS = [
  'Sales', 'sales', 'SALES', 'Marketing', 'Engineering', '', '12', '12abc', '3.5', ' 7', '0', '-2', 'true', 'null',
  'İstanbul', 'ISTANBUL', 'ACME', 'acme', 'contractor', 'Tutorial_1|THU|01:00PM|C05', 'AB-123', 'ab-123', 'Mr. Smith',
  'staff', 'learner', 'active', 'completed', 'in_progress', 'internal',
];
const EMAILS = ['ana@acme.com', 'BOB@Example.COM', 'contractor.x@acme.co.uk', 'ann@example.com', '', 'İlker@ACME.COM'];
const NUMBERS = [0, 1, 7, 12, 3.5, -2, 100, 1e9, 30];
const PATTERNS = [
  '^[A-Z]{2}-\\d{3}$', '@(acme|example)\\.com$', 'sales', '^\\d+$', '[İi]stanbul', '\\|THU\\|', '^$', '^(?:Mr|Ms)\\.?', '123$',
  '^[^@]+@acme\\.com$', '\\d',
  // RE2 syntax and patterns a backtracking engine could not be trusted with.
  '.*@acme\\..*', 'a.*c.*e', '(?i)@ACME\\.', '(?i)^sales$', '(?i)istanbul', '\\pL+$', '(a+)+$', '(.*a){3}', '(?s)^.{2,}$',
];
const DAYS = [0, 1, 7, 30, 365, 0.5];

// --- users ---

function scalar(r: Random, now: number): string | number | boolean {
  const k = r.int(10);
  if (k < 4) return r.pick(STRINGS);
  if (k < 6) return r.pick(NUMBERS);
  if (k < 7) return r.chance(0.5);
  return r.pick(dateStrings(now));
}

/** A field value; off contract it may also be null, a list or an object. */
function fieldValue(r: Random, now: number, offContract: boolean): unknown {
  if (offContract) {
    const k = r.int(12);
    if (k === 0) return null;
    if (k === 1) return [scalar(r, now), scalar(r, now)];
    if (k === 2) return [];
    if (k === 3) return [r.pick(NUMBERS)];
    if (k === 4) return { status: 'completed' };
    if (k === 5) return 'x'.repeat(1001) + 'AB-123';
  }
  return scalar(r, now);
}

const STATUSES = ['subscribed', 'in_progress', 'completed', 'waitlisted', 'suspended'] as const;

function enrollment(r: Random, now: number, offContract: boolean): unknown {
  if (offContract && r.chance(0.1)) return r.pick([null, 'completed', ['completed'], 3]);
  const dates = dateStrings(now).filter((d) => d.length > 10 && !d.endsWith('T10:00:00'));
  const e: Record<string, unknown> = {
    status: r.pick(STATUSES),
    role: r.chance(0.8) ? 'student' : 'instructor',
    enrolledAt: r.pick(dates),
  };
  if (r.chance(0.6)) e.class = r.pick(['Tutorial_1|THU|01:00PM|C05', 'Lab A', 'sales']);
  if (r.chance(0.5)) e.cohort = r.pick(['2025-A', '2025-B']);
  if (r.chance(0.5)) e.mode = r.pick(['internal', 'external']);
  if (e.status === 'completed' || r.chance(0.1)) e.completedAt = r.pick(dates);
  if (offContract && r.chance(0.1)) e.status = r.pick([null, 12, ['completed']]);
  return e;
}

/** A user's facts; off contract, values of the wrong type appear where the engine must still be matched. */
export function genUser(r: Random, now: number, offContract: boolean): UserFacts {
  const fields: Record<string, unknown> = {};
  for (const key of FIELD_KEYS) if (r.chance(0.6)) fields[key] = fieldValue(r, now, offContract);
  const enrollments: Record<string, unknown> = {};
  for (const c of COURSES) if (r.chance(0.5)) enrollments[c] = enrollment(r, now, offContract);
  const user: Record<string, unknown> = {
    externalId: r.pick(['u1', 'EMP-001', 'AB-123']),
    email: r.pick(EMAILS),
    firstName: r.pick(['Ana', 'bob', 'İlker']),
    lastName: r.pick(['Smith', 'ACME']),
    type: offContract && r.chance(0.1) ? 'robot' : r.pick(['learner', 'staff']),
    status: r.pick(['active', 'inactive']),
    fields,
    enrollments,
  };
  if (r.chance(0.6)) user.branch = r.pick(['North', 'South', 'north']);
  else if (offContract && r.chance(0.3)) user.branch = r.pick([null, 7]);
  return user as unknown as UserFacts;
}

// --- rules ---

function genScalarValue(r: Random, now: number): string | number | boolean | null {
  const k = r.int(12);
  if (k === 0) return null;
  if (k < 5) return r.pick([...STRINGS, ...EMAILS, 'North', 'completed', 'staff']);
  if (k < 8) return r.pick(NUMBERS);
  if (k < 9) return r.chance(0.5);
  return r.pick(dateStrings(now));
}

function genList(r: Random, item: () => RuleValue): RuleValue[] {
  return Array.from({ length: r.int(5) }, item);
}

/** The static operand the base operator sees (fact on the left unless swapped). */
function genOperand(r: Random, base: string, factOnLeft: boolean, now: number): RuleValue {
  const s = (): RuleValue => genScalarValue(r, now);
  switch (base) {
    case 'equal':
    case 'notEqual':
      return s();
    case 'in':
    case 'notIn':
      return genList(r, s);
    case 'contains':
    case 'doesNotContain':
      return factOnLeft ? s() : genList(r, s);
    case 'lessThan':
    case 'lessThanInclusive':
    case 'greaterThan':
    case 'greaterThanInclusive':
      return r.pick(NUMBERS);
    case 'includesText':
    case 'startsWith':
    case 'endsWith':
      return r.pick(['sales', 'SAL', 'acme', '@acme.com', '.COM', 'i', 'İ', 'istanbul', '1', 'AB-', '123', 'C05', 'contractor', 'x']);
    case 'matches':
      return r.pick(PATTERNS);
    case 'exists':
      return r.chance(0.5);
    case 'before':
    case 'after':
      return r.pick(dateStrings(now).filter((d) => !d.endsWith('T10:00:00') && d !== '2024-02-30' && d !== '2024-13-01'));
    default:
      return r.pick(DAYS);
  }
}

/** Builds the condition value through the decorators (outermost first), as the engine will take it apart. */
function genValue(r: Random, decorators: string[], base: string, factOnLeft: boolean, now: number): RuleValue {
  const [d, ...rest] = decorators;
  if (d === undefined) return genOperand(r, base, factOnLeft, now);
  switch (d) {
    case 'swap':
      return genValue(r, rest, base, !factOnLeft, now);
    case 'someValue':
    case 'everyValue':
      return genList(r, () => genValue(r, rest, base, factOnLeft, now));
    case 'someFact':
    case 'everyFact':
      return factOnLeft ? genValue(r, rest, base, factOnLeft, now) : genList(r, () => genValue(r, rest, base, factOnLeft, now));
    default:
      return genValue(r, rest, base, factOnLeft, now);
  }
}

const USER_KEYS = ['externalId', 'email', 'firstName', 'lastName', 'type', 'status', 'branch'];
const ENROLLMENT_KEYS = ['status', 'role', 'class', 'cohort', 'mode', 'enrolledAt', 'completedAt'];

export interface RuleOptions {
  maxDepth: number;
  /** Probability of decorating an operator. */
  decorate: number;
  /** Restrict operators (e.g. to the ones the benchmark's realistic mix uses). */
  operators?: readonly string[];
  /** Probability of a `memberOf` leaf naming one of GROUP_IDS (none when absent). */
  memberOf?: number;
}

/** Groups memberOf leaves name; users are members of some (withMemberships). */
export const GROUP_IDS = ['grp_00000000000000a1', 'grp_00000000000000b2', 'grp_00000000000000c3'] as const;

/** The user with a membership lookup: a member of each of GROUP_IDS with probability one half. */
export function withMemberships(r: Random, user: UserFacts): UserFacts {
  const groups = new Set<string>(GROUP_IDS.filter(() => r.chance(0.5)));
  return { ...user, memberOf: (g: string) => groups.has(g) };
}

function genLeafOnce(r: Random, now: number, opts: RuleOptions): LeafCondition {
  if (opts.memberOf && r.chance(opts.memberOf)) {
    return { fact: 'memberOf', params: { group: r.pick(GROUP_IDS) }, operator: r.pick(['equal', 'notEqual', 'not:equal']), value: r.chance(0.5) };
  }
  const fact = r.pick(['email', 'user', 'user', 'field', 'field', 'field', 'enrollment', 'enrollment']);
  const leaf: Record<string, unknown> = { fact };
  if (fact === 'user') leaf.path = `$.${r.pick(USER_KEYS)}`;
  if (fact === 'field') leaf.params = { key: r.pick(FIELD_KEYS) };
  if (fact === 'enrollment') {
    leaf.params = { course: r.pick([...COURSES, 'C9']) };
    if (r.chance(0.75)) leaf.path = `$.${r.pick(ENROLLMENT_KEYS)}`;
  }
  const base = r.pick(opts.operators ?? BASE_OPERATORS);
  const decorators: string[] = [];
  while (decorators.length < 2 && r.chance(opts.decorate)) decorators.push(r.pick(DECORATOR_NAMES));
  leaf.operator = [...decorators, base].join(':');
  leaf.value = genValue(r, decorators, base, true, now);
  return leaf as unknown as LeafCondition;
}

/** A structurally valid leaf (decorator chains the validator refuses are redrawn). */
export function genLeaf(r: Random, now: number, opts: RuleOptions): LeafCondition {
  for (;;) {
    const leaf = genLeafOnce(r, now, opts);
    if (structuralIssues({ conditions: { all: [leaf] } }).length === 0) return leaf;
  }
}

function genNode(r: Random, depth: number, now: number, opts: RuleOptions): Condition {
  if (depth >= opts.maxDepth || r.chance(0.45)) return genLeaf(r, now, opts);
  return genBoolean(r, depth, now, opts);
}

function genBoolean(r: Random, depth: number, now: number, opts: RuleOptions): Condition {
  const k = r.int(5);
  if (k === 0) return { not: genNode(r, depth + 1, now, opts) };
  const size = r.chance(0.05) ? 0 : 1 + r.int(4);
  const children = Array.from({ length: size }, () => genNode(r, depth + 1, now, opts));
  return k <= 2 ? { all: children } : { any: children };
}

export function genRule(r: Random, now: number, opts: RuleOptions = { maxDepth: 4, decorate: 0.35 }): RuleDocument {
  return { conditions: genBoolean(r, 1, now, opts) as RuleDocument['conditions'] };
}

/** Every operator name (with decorators) in a rule. */
export function operatorsOf(node: Condition, out: string[] = []): string[] {
  if ('all' in node) node.all.forEach((c) => operatorsOf(c, out));
  else if ('any' in node) node.any.forEach((c) => operatorsOf(c, out));
  else if ('not' in node) operatorsOf(node.not, out);
  else out.push(node.operator);
  return out;
}
