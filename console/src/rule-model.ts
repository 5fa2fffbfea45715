// The rule document as the builder edits it: pure functions over the JSON (no hidden model), so the JSON view and
// the builder are always the same data. Paths are the API's own (`conditions.all[0].any[1]`), which is how the
// API's 400 problem documents locate errors.
import type { Catalogue, Condition, FactPath, GroupRef, Leaf, RuleDocument, RuleTemplate } from './types.js';

export type GroupKind = 'all' | 'any' | 'not';

export const isLeaf = (c: Condition): c is Leaf => !('all' in c) && !('any' in c) && !('not' in c);
export const kindOf = (c: Condition): GroupKind | null => ('all' in c ? 'all' : 'any' in c ? 'any' : 'not' in c ? 'not' : null);

export const newLeaf = (): Leaf => ({ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' });

/**
 * A "member of" condition as the API writes it: `memberOf` with the group in params, `equal` true (is a member) or
 * false (is not). An empty group is a condition still to be completed (the builder says so at it).
 */
export const memberOfLeaf = (group = '', member = true): Leaf => ({ fact: 'memberOf', params: { group }, operator: 'equal', value: member });

/**
 * Whether a "member of" condition asks for members (true) or non-members (false). The API's form is `equal`
 * true/false; a rule written by hand with `notEqual` (or `not:equal`) reads the other way round, and is kept as
 * written until the membership is changed here.
 */
export function asksForMembers(leaf: Leaf): boolean {
  const value = leaf.value === true;
  const negated = ['notEqual', 'not:equal'].includes(leaf.operator);
  return negated ? !value : value;
}

/** Whether any condition of the tree names a group (memberOf): such a rule may close a cycle of groups. */
export function namesGroups(c: Condition): boolean {
  if (isLeaf(c)) return c.fact === 'memberOf';
  return childrenOf(c, '').some(({ child }) => namesGroups(child));
}

/** The membership words the builder and explain show for a "member of" condition. */
export const membershipWords = (member: boolean): string => (member ? 'is a member of' : 'is not a member of');

/** Children of a group with their API paths. */
export function childrenOf(c: Condition, path: string): Array<{ child: Condition; path: string }> {
  if ('all' in c) return c.all.map((child, i) => ({ child, path: `${path}.all[${i}]` }));
  if ('any' in c) return c.any.map((child, i) => ({ child, path: `${path}.any[${i}]` }));
  if ('not' in c) return [{ child: c.not, path: `${path}.not` }];
  return [];
}

/** Steps of a path below `conditions`: e.g. ["all", 0, "any", 1]. */
function steps(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of path.replace(/^conditions/, '').matchAll(/\.(all|any|not)|\[(\d+)\]/g)) out.push(m[1] ?? Number(m[2]));
  return out;
}

/** The condition tree with the node at `path` replaced by `fn(node)`; `null` removes it from its list. */
export function updateAt(root: Condition, path: string, fn: (c: Condition) => Condition | null): Condition {
  const rec = (node: Condition, rest: Array<string | number>): Condition | null => {
    if (rest.length === 0) return fn(node);
    const [key, ...tail] = rest;
    if (key === 'not' && 'not' in node) {
      const inner = rec(node.not, tail);
      return inner ? { not: inner } : node;
    }
    if ((key === 'all' || key === 'any') && key in node) {
      const list = (node as Record<string, Condition[]>)[key]!;
      const index = tail[0] as number;
      const next: Condition[] = [];
      list.forEach((child, i) => {
        if (i !== index) return next.push(child);
        const replaced = rec(child, tail.slice(1));
        if (replaced) next.push(replaced);
      });
      return { [key]: next } as Condition;
    }
    return node;
  };
  return rec(root, steps(path)) ?? root;
}

/** A group's kind changed, keeping its children (a `not` keeps only the first). */
export function withKind(c: Condition, kind: GroupKind): Condition {
  const kids = 'all' in c ? c.all : 'any' in c ? c.any : 'not' in c ? [c.not] : [c];
  if (kind === 'not') return { not: kids[0] ?? newLeaf() };
  return { [kind]: kids } as Condition;
}

export function addChild(c: Condition, child: Condition): Condition {
  if ('all' in c) return { all: [...c.all, child] };
  if ('any' in c) return { any: [...c.any, child] };
  return c;
}

/** The type of value a leaf's fact yields: drives the operators offered and the value input. */
export function leafType(leaf: Leaf, cat: Catalogue): { type: string; options?: string[] } {
  if (leaf.fact === 'email') return { type: 'text' };
  if (leaf.fact === 'memberOf') return { type: 'boolean' };
  if (leaf.fact === 'field') {
    const def = cat.fields.find((f) => f.key === leaf.params?.key);
    return def ? { type: def.type, ...(def.options ? { options: def.options } : {}) } : { type: 'text' };
  }
  const fact = cat.facts.find((f) => f.name === leaf.fact);
  if (leaf.fact === 'enrollment' && !leaf.path) return { type: 'enrollment' };
  const p: FactPath | undefined = fact?.paths.find((x) => x.path === leaf.path);
  return p ? { type: p.type, ...(p.options ? { options: p.options } : {}) } : { type: 'text' };
}

/**
 * Operators in words, as a person reads the condition ("Hire date is on or after 2026-01-01"). `not:` variants
 * are offered where they say something no plain operator says (on or after, does not contain, …).
 */
export const OPERATOR_WORDS: Record<string, string> = {
  equal: 'is',
  notEqual: 'is not',
  in: 'is one of',
  notIn: 'is not one of',
  contains: 'contains',
  doesNotContain: 'does not contain',
  lessThan: 'is less than',
  lessThanInclusive: 'is at most',
  greaterThan: 'is more than',
  greaterThanInclusive: 'is at least',
  includesText: 'contains',
  'not:includesText': 'does not contain',
  startsWith: 'starts with',
  'not:startsWith': 'does not start with',
  endsWith: 'ends with',
  'not:endsWith': 'does not end with',
  matches: 'matches the pattern',
  'not:matches': 'does not match the pattern',
  exists: 'has a value',
  before: 'is before',
  // not:before is also true for a user without the date (json-rules-engine's undefined facts): said so.
  'not:before': 'is on or after, or has none',
  after: 'is after',
  'not:after': 'is on or before, or has none',
  withinLastDays: 'is in the last N days',
  'not:withinLastDays': 'is not in the last N days',
  moreThanDaysAgo: 'is more than N days ago',
};

/** An operator in words; one without words of its own (a decorator the builder does not offer) says what it is. */
export function operatorWords(op: string): string {
  return OPERATOR_WORDS[op] ?? (op.startsWith('not:') ? `not (${operatorWords(op.slice(4))})` : op);
}

/** The catalogue's operators for a fact type, in the order people look for them, with the worded `not:` variants. */
export function operatorsFor(type: string, cat: Catalogue): string[] {
  const names = cat.operators.filter((o) => o.appliesTo.includes(type)).map((o) => o.name);
  return names.flatMap((n) => (OPERATOR_WORDS[`not:${n}`] ? [n, `not:${n}`] : [n]));
}

export type ValueKind = 'list' | 'number' | 'boolean' | 'date' | 'select' | 'text';

/** How the value of this operator on this type is typed. */
export function valueKind(operator: string, type: string): ValueKind {
  const base = operator.replace(/^not:/, '');
  if (base === 'in' || base === 'notIn') return 'list';
  if (base === 'exists') return 'boolean';
  if (base === 'withinLastDays' || base === 'moreThanDaysAgo') return 'number';
  if (base === 'before' || base === 'after') return 'date';
  if (base === 'includesText' || base === 'startsWith' || base === 'endsWith' || base === 'matches') return 'text';
  if (type === 'number') return 'number';
  if (type === 'boolean') return 'boolean';
  if (type === 'date') return 'date';
  if (type === 'select') return 'select';
  return 'text';
}

/** A sensible value when the operator or fact changes so the condition stays of the right shape. */
export function defaultValue(kind: ValueKind, options?: string[]): unknown {
  switch (kind) {
    case 'list':
      return options?.length ? [options[0]] : [];
    case 'number':
      return 0;
    case 'boolean':
      return true;
    case 'date':
      return new Date().toISOString().slice(0, 10);
    case 'select':
      return options?.[0] ?? '';
    default:
      return '';
  }
}

/** Whether `value` is a valid value of this kind (and, for a choice, one of `options`). */
export function validValue(kind: ValueKind, value: unknown, options?: string[]): boolean {
  switch (kind) {
    case 'list':
      return Array.isArray(value) && value.length > 0 && (!options?.length || value.every((v) => options.includes(String(v))));
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value);
    case 'select':
      return typeof value === 'string' && (!options?.length || options.includes(value));
    default:
      return typeof value === 'string' && value !== '';
  }
}

/** What a condition's value lacks, in words at the condition ("Hire date needs a date"), or undefined. */
export function missingValue(subject: string, kind: ValueKind, value: unknown, options?: string[]): string | undefined {
  if (validValue(kind, value, options)) return undefined;
  switch (kind) {
    case 'list':
      return `${subject} needs at least one value${options?.length ? ' from its list' : ''}`;
    case 'number':
      return `${subject} needs a number`;
    case 'date':
      return `${subject} needs a date`;
    case 'select':
      return `${subject} needs one of its values`;
    case 'boolean':
      return undefined;
    default:
      return `${subject} needs some text`;
  }
}

/** Errors that belong to this node: its own path, or a key of it (`.value`), not a deeper condition. */
export function errorsAt<T extends { path: string }>(errors: T[], path: string, leaf: boolean): T[] {
  return errors.filter((e) => {
    const p = e.path.replace(/^rule\./, '');
    if (p === path) return true;
    if (!p.startsWith(`${path}.`)) return false;
    const rest = p.slice(path.length + 1);
    return leaf || !/^(all|any)\[\d+\]|^not\./.test(rest);
  });
}

/**
 * The words a person searching for a group typed, matched against group names: every word must occur in the name
 * (case-insensitive), or the text is the group's id. The best matches first: names starting with the text, then
 * by name.
 */
export function matchGroups<G extends GroupRef>(groups: readonly G[], text: string, limit = 10): G[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return [];
  const words = needle.split(/\s+/);
  return groups
    .filter((g) => g.id === text.trim() || words.every((w) => g.name.toLowerCase().includes(w)))
    .sort((a, b) => Number(!a.name.toLowerCase().startsWith(needle)) - Number(!b.name.toLowerCase().startsWith(needle)) || a.name.localeCompare(b.name))
    .slice(0, limit);
}

/**
 * A template's rule with each `{{placeholder}}` filled: a whole-string placeholder takes the value as is (a number
 * stays a number), one inside a string is replaced by its text. Unfilled ones take the template's example.
 */
export function fillTemplate(t: RuleTemplate, values: Record<string, unknown> = {}): RuleDocument {
  const valueOf = (name: string) => (name in values ? values[name] : t.placeholders.find((p) => p.name === name)?.example);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\{\{(\w+)\}\}$/.exec(v);
      if (whole) return valueOf(whole[1]!);
      return v.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => String(valueOf(name)));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(t.rule) as RuleDocument;
}
