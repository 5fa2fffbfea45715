// When a user's result changes by time alone. Only `withinLastDays` and `moreThanDaysAgo` move with the clock
// (decorated or not); each such leaf, for one user's facts, is true or false on intervals bounded by a few instants:
// the date itself (a date in the future is not yet "within") and the date plus the days (an instant plus days × 24 h,
// a calendar date plus whole calendar days in TIMEZONE plus the fraction as hours). Between consecutive candidate
// instants of all the rule's leaves the rule's result is constant, so the earliest change is the first candidate,
// in ascending order, at which the compiled predicate answers differently than at `now`. A candidate is never
// reported unless the predicate confirms it.
import { addDays, parseDate } from './dates.js';
import { emailFact, enrollmentFact, fieldFact, pathKey, resolvePath, userProperty } from './facts.js';
import { OPERATORS, TIME_DEPENDENT_OPERATORS, splitOperator } from './operators.js';
import { compileOperator } from './compile-predicate.js';
import type { Condition, LeafCondition, RuleDocument, UserFacts } from './rule.types.js';

export interface NextChange {
  /** The earliest instant after `now` at which the rule's result for this user differs from its result at `now`. */
  at: Date;
  /** The condition whose own result flips there. */
  leaf: LeafCondition;
  /** The leaf's result from `at` on. */
  leafResult: boolean;
  /** The rule's result from `at` on. */
  matches: boolean;
}

/** For one rule: the next change of one user's result after `now`, or null when time alone never changes it. */
export type NextChangeFinder = (user: UserFacts, predicate: (user: UserFacts, now: Date) => boolean, now: Date) => NextChange | null;

interface TimeLeaf {
  leaf: LeafCondition;
  get: (user: UserFacts) => unknown;
  test: (factValue: unknown, now: number) => boolean;
  swapped: boolean;
}

function timeLeaves(node: Condition, out: LeafCondition[] = []): LeafCondition[] {
  if ('all' in node) node.all.forEach((c) => timeLeaves(c, out));
  else if ('any' in node) node.any.forEach((c) => timeLeaves(c, out));
  else if ('not' in node) timeLeaves(node.not, out);
  else if (TIME_DEPENDENT_OPERATORS.has(splitOperator(node.operator).base)) out.push(node);
  return out;
}

/** The leaf's fact value, read by the same functions the predicate and the engine read it with. */
function factGetter(leaf: LeafCondition): (user: UserFacts) => unknown {
  const key = leaf.path === undefined ? null : pathKey(leaf.path);
  switch (leaf.fact) {
    case 'email':
      return emailFact;
    case 'user':
      return (user) => userProperty(user, key!);
    case 'field': {
      const fieldKey = String(leaf.params?.key);
      return (user) => fieldFact(user, fieldKey);
    }
    case 'enrollment': {
      const course = String(leaf.params?.course);
      return key === null ? (user) => enrollmentFact(user, course) : (user) => resolvePath(enrollmentFact(user, course), key);
    }
    default:
      // Facts that are not dates (memberOf) never make a time leaf true; they have no candidates.
      return () => undefined;
  }
}

const flat = (v: unknown): unknown[] => (Array.isArray(v) ? (v.flat(Infinity) as unknown[]) : [v]);
const isDays = (d: unknown): d is number => typeof d === 'number' && Number.isFinite(d) && d >= 0;
const MAX_INSTANT = 8.64e15;
const moreThanDaysAgo = OPERATORS.get('moreThanDaysAgo')!.cb;

/**
 * The first whole millisecond at which `date` is more than `days` ago (the instant `withinLastDays` stops holding
 * and `moreThanDaysAgo` starts), found exactly with the operator itself around its computed value, which
 * floating point may put a millisecond off.
 */
function passesAt(date: unknown, days: number): number | null {
  const shifted = addDays(date, days);
  // Past the last instant a Date holds, a millisecond is below floating point's resolution: no flip to find.
  if (!(Math.abs(shifted) <= MAX_INSTANT)) return null;
  let t = Math.floor(shifted) - 2;
  while (moreThanDaysAgo(date, days, t)) t--;
  while (!moreThanDaysAgo(date, days, t)) t++;
  return t;
}

/** Candidate instants of one leaf for one fact value: where the leaf's result may change. */
function candidates(t: TimeLeaf, factValue: unknown, out: number[]): void {
  const dates = flat(t.swapped ? t.leaf.value : factValue);
  const days = flat(t.swapped ? factValue : t.leaf.value).filter(isDays);
  for (const date of dates) {
    const at = parseDate(date);
    if (Number.isNaN(at)) continue;
    out.push(at); // a date in the future becomes "within" when it comes
    for (const d of days) {
      const passes = passesAt(date, d);
      if (passes !== null) out.push(passes);
    }
  }
}

/** Whether the rule's result can change with the clock alone (a withinLastDays or moreThanDaysAgo condition). */
export function readsClock(rule: RuleDocument): boolean {
  return rule.conditions !== undefined && timeLeaves(rule.conditions).length > 0;
}

/** Null when the rule does not read the clock. */
export function nextChangeFinder(rule: RuleDocument): NextChangeFinder | null {
  const leaves: TimeLeaf[] = timeLeaves(rule.conditions).map((leaf) => ({
    leaf,
    get: factGetter(leaf),
    test: compileOperator(leaf.operator, leaf.value),
    swapped: splitOperator(leaf.operator).decorators.includes('swap'),
  }));
  if (leaves.length === 0) return null;
  return (user, predicate, now) => {
    const nowMs = now.getTime();
    const byInstant = new Map<number, TimeLeaf[]>();
    const values = leaves.map((t) => t.get(user));
    leaves.forEach((t, i) => {
      const found: number[] = [];
      candidates(t, values[i], found);
      for (const c of found) {
        if (c <= nowMs) continue;
        const list = byInstant.get(c);
        if (list) list.push(t);
        else byInstant.set(c, [t]);
      }
    });
    if (byInstant.size === 0) return null;
    const before = predicate(user, now);
    for (const at of [...byInstant.keys()].sort((a, b) => a - b)) {
      const when = new Date(at);
      const matches = predicate(user, when);
      if (matches === before) continue;
      // The leaf that flips here: the first of those with this candidate whose own result changes.
      const own = byInstant.get(at)!;
      const flipped = own.find((t) => t.test(t.get(user), at) !== t.test(t.get(user), at - 1)) ?? own[0]!;
      return { at: when, leaf: flipped.leaf, leafResult: flipped.test(flipped.get(user), at), matches };
    }
    return null;
  };
}

const OPERATOR_WORDS: Record<string, (value: unknown) => string> = {
  withinLastDays: (v) => `within the last ${String(v)} days`,
  moreThanDaysAgo: (v) => `more than ${String(v)} days ago`,
};

/** The condition in words: `enrollment CERT-1 completedAt more than 365 days ago`, `field hireDate within the last 90 days`. */
export function describeTimeLeaf(leaf: LeafCondition): string {
  const { decorators, base } = splitOperator(leaf.operator);
  const key = leaf.path === undefined ? null : pathKey(leaf.path);
  let subject: string;
  if (leaf.fact === 'enrollment') {
    const course = String(leaf.params?.course);
    subject = key === 'completedAt' ? `completed ${course}` : key === 'enrolledAt' ? `enrolled in ${course}` : `enrollment ${course}${key ? ` ${key}` : ''}`;
  } else if (leaf.fact === 'field') subject = String(leaf.params?.key);
  else subject = key ?? leaf.fact;
  const words = OPERATOR_WORDS[base]?.(leaf.value) ?? `${base} ${JSON.stringify(leaf.value)}`;
  return `${decorators.length ? `${decorators.join(':')}: ` : ''}${subject} ${words}`;
}

/** History's reason for a flip: the condition as it now holds, or that it no longer holds. */
export function flipReason(leaf: LeafCondition, leafResult: boolean): string {
  const condition = describeTimeLeaf(leaf);
  return leafResult ? condition : `${condition} no longer holds`;
}
