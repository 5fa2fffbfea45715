// The database filter of a rule: a MongoDB query on the stored user document that selects a SUPERSET of the
// users the predicate accepts, so the database can skip users that cannot match. Only operators both MongoDB 6
// and the embedded database run are emitted: $and/$or/$nor, $eq/$ne/$in/$nin, $lt/$lte/$gt/$gte, $exists, $type and
// $regex with patterns built here from escaped literals and character classes (no $expr, $where or $lookup).
//
// To negate soundly, every node is compiled into two filters: `sup` (matches at least the users the node is
// true for) and `sub` (matches only users it is true for). not(X) then has sup = ¬sub(X), sub = ¬sup(X).
//
// Mapping from facts to the stored document (src/directory/user-facts.ts builds facts from it):
//   email → email; user $.externalId → _id, other user paths → the same name; field → fields.<key>;
//   enrollment → enrollments.<course>, its paths → enrollments.<course>.<prop>. Enrolment dates are BSON Dates
//   stored where facts hold their toISOString(); role is defaulted to 'student' when facts are built, so the
//   filter never narrows on it. Stored values are scalars (the directory validates them), never lists.
//   memberOf reads memberships, which are not on the user: it never narrows.
import { DAY_MS, parseDate, utcDayString } from './dates.js';
import { pathKey } from './facts.js';
import { splitOperator } from './operators.js';
import type { Condition, LeafCondition, RuleDocument, RuleValue } from './rule.types.js';

/** true: every document; false: none. */
export type Filter = boolean | Record<string, unknown>;
interface Bounds {
  sup: Filter;
  sub: Filter;
}

const UNKNOWN: Bounds = { sup: true, sub: false };
const exact = (f: Filter): Bounds => ({ sup: f, sub: f });

export function and(parts: Filter[]): Filter {
  const kept: Record<string, unknown>[] = [];
  for (const p of parts) {
    if (p === false) return false;
    if (p !== true) kept.push(p);
  }
  if (kept.length === 0) return true;
  return kept.length === 1 ? kept[0]! : { $and: kept };
}

export function or(parts: Filter[]): Filter {
  const kept: Record<string, unknown>[] = [];
  for (const p of parts) {
    if (p === true) return true;
    if (p !== false) kept.push(p);
  }
  if (kept.length === 0) return false;
  return kept.length === 1 ? kept[0]! : { $or: kept };
}

export function not(f: Filter): Filter {
  return typeof f === 'boolean' ? !f : { $nor: [f] };
}

// --- text to regular expressions that mean the same on PCRE and RE2 ---

// Characters escaped outside and inside a class; the escapes are valid in PCRE, RE2 and JavaScript (u flag).
const SPECIAL_OUTSIDE = new Set([...'\\^$.|?*+()[]{}']);
const SPECIAL_INSIDE = new Set([...'\\^[]-']);

function escapeChar(ch: string, inClass = false): string {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) return `\\x{${cp.toString(16)}}`;
  return (inClass ? SPECIAL_INSIDE : SPECIAL_OUTSIDE).has(ch) ? `\\${ch}` : ch;
}

export function escapeRegex(text: string): string {
  return [...text].map((ch) => escapeChar(ch)).join('');
}

let lowerSources: Map<string, string[]> | null = null;
/** For each character x, the other characters c whose toLowerCase() begins with x (built once, on first use). */
function charsLoweringTo(x: string): string[] {
  if (!lowerSources) {
    lowerSources = new Map();
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const lowered = c.toLowerCase();
      const head = String.fromCodePoint(lowered.codePointAt(0)!);
      if (head !== c) {
        const list = lowerSources.get(head);
        if (list) list.push(c);
        else lowerSources.set(head, [c]);
      }
    }
  }
  return lowerSources.get(x) ?? [];
}

/**
 * A case-insensitive substring search spelled out with classes ([aA] ...) rather than the `i` option, whose
 * case folding differs between PCRE, RE2 and JavaScript's toLowerCase. Null when it cannot be made a superset:
 * only U+0130 lowers to two characters ('i' + U+0307), so a needle containing U+0307 is left alone.
 */
function caseInsensitiveSearch(needle: string): string | null {
  const lowered = needle.toLowerCase();
  if (lowered.includes('\u0307')) return null;
  return [...lowered]
    .map((x) => {
      const members = [x, ...charsLoweringTo(x)];
      return members.length === 1 ? escapeChar(x) : `[${members.map((m) => escapeChar(m, true)).join('')}]`;
    })
    .join('');
}

// --- leaves ---

type Storage = 'value' | 'date' | 'derived' | 'object';

function location(leaf: LeafCondition): { field: string; storage: Storage } {
  const key = leaf.path === undefined ? null : pathKey(leaf.path);
  switch (leaf.fact) {
    case 'email':
      return { field: 'email', storage: 'value' };
    case 'user':
      return { field: key === 'externalId' ? '_id' : key!, storage: 'value' };
    case 'field':
      return { field: `fields.${String(leaf.params?.key)}`, storage: 'value' };
    default: {
      const base = `enrollments.${String(leaf.params?.course)}`;
      if (key === null) return { field: base, storage: 'object' };
      if (key === 'enrolledAt' || key === 'completedAt') return { field: `${base}.${key}`, storage: 'date' };
      if (key === 'role') return { field: base, storage: 'derived' };
      return { field: `${base}.${key}`, storage: 'value' };
    }
  }
}

const isScalarList = (v: RuleValue): v is Array<string | number | boolean | null> => Array.isArray(v);
const MAX_DAY = Date.UTC(9999, 11, 31);
const MIN_DAY = new Date('0000-01-01T00:00:00Z').getTime();

function floorDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Date strings sort by their leading 'YYYY-MM-DD'. The instant a string denotes lies within (−24 h, +48 h) of its
 * leading day's UTC midnight (time of day plus an offset of up to ±23:59), so day bounds widened by that margin
 * select a superset.
 */
function stringDateRange(field: string, from: number | null, to: number | null): Filter {
  const cond: Record<string, unknown> = {};
  if (from !== null) {
    const day = floorDay(from) - 2 * DAY_MS;
    if (day > MAX_DAY) return false;
    if (day >= MIN_DAY) cond.$gte = utcDayString(day);
  }
  if (to !== null) {
    const day = floorDay(to) + 3 * DAY_MS;
    if (day < MIN_DAY) return false;
    if (day <= MAX_DAY) cond.$lt = utcDayString(day);
  }
  if (Object.keys(cond).length === 0) cond.$type = 'string';
  return { [field]: cond };
}

/** [from, to] instants (inclusive or exclusive ends) of what the date operator accepts, or null if nothing. */
function dateInterval(base: string, value: RuleValue, now: number): { from: number | null; to: number | null; openTo: boolean } | null {
  switch (base) {
    case 'before': {
      const v = parseDate(value);
      return Number.isNaN(v) ? null : { from: null, to: v, openTo: true };
    }
    case 'after': {
      const v = parseDate(value);
      return Number.isNaN(v) ? null : { from: v + 1, to: null, openTo: false };
    }
    case 'withinLastDays':
      return typeof value === 'number' ? { from: now - value * DAY_MS, to: now, openTo: false } : null;
    case 'moreThanDaysAgo':
      return typeof value === 'number' ? { from: null, to: now - value * DAY_MS, openTo: true } : null;
    default:
      return null;
  }
}

/** Years 0000-9999: the instants whose toISOString() this service parses back. */
const END_OF_9999 = MAX_DAY + DAY_MS;

/**
 * Enrolment dates are BSON Dates where facts hold their toISOString(), so comparing Dates is exact (facts have
 * whole milliseconds: fractional bounds round inwards).
 */
function storedDateRange(field: string, interval: { from: number | null; to: number | null; openTo: boolean }): Filter {
  const from = Math.max(interval.from === null ? MIN_DAY : Math.ceil(interval.from), MIN_DAY);
  let upper: Record<string, Date>;
  if (interval.to === null) upper = { $lt: new Date(END_OF_9999) };
  else if (interval.openTo) upper = { $lt: new Date(Math.min(Math.ceil(interval.to), END_OF_9999)) };
  else upper = Math.floor(interval.to) < END_OF_9999 ? { $lte: new Date(Math.floor(interval.to)) } : { $lt: new Date(END_OF_9999) };
  if (from >= END_OF_9999) return false;
  return { [field]: { $gte: new Date(from), ...upper } };
}

function baseLeaf(leaf: LeafCondition, base: string, now: number): Bounds {
  const { field, storage } = location(leaf);
  const value = leaf.value;
  const present: Filter = { [field]: { $exists: true, $ne: null } };
  // For role (derived), the fact is there exactly when the enrolment is, and `field` is the enrolment.
  if (base === 'exists') return exact(value === true ? present : value === false ? not(present) : false);
  if (storage === 'derived' || storage === 'object') return UNKNOWN;
  if (storage === 'date') {
    const interval = dateInterval(base, value, now);
    return interval ? exact(storedDateRange(field, interval)) : UNKNOWN;
  }
  switch (base) {
    case 'equal':
      return value === null ? UNKNOWN : exact({ [field]: { $eq: value } });
    case 'notEqual':
      return value === null ? { sup: true, sub: present } : exact({ [field]: { $ne: value } });
    case 'in':
    case 'notIn': {
      if (!isScalarList(value)) return UNKNOWN;
      const nonNull = value.filter((v) => v !== null);
      const hasNull = nonNull.length !== value.length;
      if (base === 'in') return hasNull ? { sup: true, sub: { [field]: { $in: nonNull } } } : exact({ [field]: { $in: value } });
      return hasNull
        ? { sup: { [field]: { $nin: nonNull } }, sub: { [field]: { $nin: value } } }
        : exact({ [field]: { $nin: value } });
    }
    case 'lessThan':
    case 'lessThanInclusive':
    case 'greaterThan':
    case 'greaterThanInclusive': {
      if (typeof value !== 'number') return UNKNOWN;
      const op = { lessThan: '$lt', lessThanInclusive: '$lte', greaterThan: '$gt', greaterThanInclusive: '$gte' }[base];
      const numeric = { [field]: { [op]: value } };
      // A numeric string ("12") also compares in JavaScript; the database compares numbers with numbers only.
      return { sup: or([numeric, { [field]: { $type: 'string' } }]), sub: numeric };
    }
    case 'startsWith':
      return typeof value === 'string' ? exact({ [field]: { $regex: `^${escapeRegex(value)}` } }) : UNKNOWN;
    case 'endsWith':
      return typeof value === 'string' ? exact({ [field]: { $regex: `${escapeRegex(value)}\\z` } }) : UNKNOWN;
    case 'includesText': {
      if (typeof value !== 'string') return UNKNOWN;
      const pattern = caseInsensitiveSearch(value);
      return pattern === null ? UNKNOWN : { sup: { [field]: { $regex: pattern } }, sub: false };
    }
    case 'before':
    case 'after':
    case 'withinLastDays':
    case 'moreThanDaysAgo': {
      const interval = dateInterval(base, value, now);
      if (!interval) return exact(false);
      return { sup: stringDateRange(field, interval.from, interval.to), sub: false };
    }
    default:
      // contains, doesNotContain: stored values are never lists. matches: its RE2 pattern is not pushed down, since
      // MongoDB reads a $regex as PCRE (other syntax, other case folding: \z, \pL and (?i) differ or fail there)
      // and neither database bounds the text to its first 1,000 characters, so a $regex could drop a user the
      // predicate accepts.
      return UNKNOWN;
  }
}

function leafBounds(leaf: LeafCondition, now: number): Bounds {
  // Memberships are not on the user document: a memberOf condition cannot narrow which users are read.
  if (leaf.fact === 'memberOf') return UNKNOWN;
  const { decorators, base } = splitOperator(leaf.operator);
  if (!decorators.every((d) => d === 'not')) return UNKNOWN;
  let bounds = baseLeaf(leaf, base, now);
  for (let i = 0; i < decorators.length; i++) bounds = { sup: not(bounds.sub), sub: not(bounds.sup) };
  return bounds;
}

function nodeBounds(node: Condition, now: number): Bounds {
  if ('all' in node) {
    const parts = node.all.map((c) => nodeBounds(c, now));
    return { sup: and(parts.map((p) => p.sup)), sub: and(parts.map((p) => p.sub)) };
  }
  if ('any' in node) {
    // An empty "any" is true in json-rules-engine, and or([]) would be false: special-case it.
    if (node.any.length === 0) return exact(true);
    const parts = node.any.map((c) => nodeBounds(c, now));
    return { sup: or(parts.map((p) => p.sup)), sub: or(parts.map((p) => p.sub)) };
  }
  if ('not' in node) {
    const inner = nodeBounds(node.not, now);
    return { sup: not(inner.sub), sub: not(inner.sup) };
  }
  return leafBounds(node, now);
}

/** The superset filter for a structurally valid rule at `now`; null when it cannot narrow. */
export function compileFilter(rule: RuleDocument, now: number): Record<string, unknown> | null {
  const { sup } = nodeBounds(rule.conditions, now);
  if (sup === true) return null;
  if (sup === false) return { _id: { $in: [] } }; // matches nothing, on both databases
  return sup;
}
