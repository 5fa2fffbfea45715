// A filter evaluated against a SCIM resource in memory: for what the database cannot answer (a derived attribute
// such as displayName), for value paths in PATCH (`emails[type eq "work"]`, `members[value eq "…"]`) and for
// groups. Attribute names match in any case; strings compare ignoring case unless the attribute is caseExact.
import type { CompValue, Filter } from './filter.js';
import { getCI, isObject, type ScimObject } from './resource-shape.js';

interface EvalOptions {
  /** Whether the attribute at this (canonical or as-written) path compares strings exactly. */
  caseExact?: (path: string) => boolean;
  /** URN prefixes the resource's extension objects are keyed by. */
  extensionUrns?: readonly string[];
  coreUrn?: string;
}

/** Every value the path reaches in `resource` (a multi-valued attribute reaches each element). */
function valuesAt(resource: ScimObject, path: string, opts: EvalOptions = {}): unknown[] {
  let node: unknown = resource;
  let rest = path;
  const lower = path.toLowerCase();
  for (const urn of [...(opts.extensionUrns ?? []), ...(opts.coreUrn ? [opts.coreUrn] : [])]) {
    if (lower.startsWith(`${urn.toLowerCase()}:`)) {
      node = urn === opts.coreUrn ? resource : getCI(resource, urn);
      rest = path.slice(urn.length + 1);
      break;
    }
  }
  let current: unknown[] = [node];
  for (const part of rest.split('.')) {
    const next: unknown[] = [];
    for (const n of current) {
      const items = Array.isArray(n) ? n : [n];
      for (const item of items) {
        if (!isObject(item)) continue;
        const v = getCI(item, part);
        if (v === undefined || v === null) continue;
        if (Array.isArray(v)) next.push(...v);
        else next.push(v);
      }
    }
    current = next;
  }
  // A complex multi-valued attribute compared without a sub-attribute compares its `value`s (RFC 7644 §3.4.2.2).
  return current.map((v) => (isObject(v) && 'value' in v ? v.value : v));
}

function compare(op: string, actual: unknown, expected: CompValue, exact: boolean): boolean {
  if (op === 'eq' && expected === null) return actual === undefined || actual === null;
  if (op === 'ne' && expected === null) return !(actual === undefined || actual === null);
  if (typeof actual === 'string' && typeof expected === 'string') {
    const a = exact ? actual : actual.toLowerCase();
    const e = exact ? expected : expected.toLowerCase();
    switch (op) {
      case 'eq': return a === e;
      case 'ne': return a !== e;
      case 'co': return a.includes(e);
      case 'sw': return a.startsWith(e);
      case 'ew': return a.endsWith(e);
      case 'gt': return a > e;
      case 'ge': return a >= e;
      case 'lt': return a < e;
      case 'le': return a <= e;
    }
  }
  if (typeof actual === 'number' && typeof expected === 'number') {
    switch (op) {
      case 'eq': return actual === expected;
      case 'ne': return actual !== expected;
      case 'gt': return actual > expected;
      case 'ge': return actual >= expected;
      case 'lt': return actual < expected;
      case 'le': return actual <= expected;
    }
    return false;
  }
  if (typeof actual === 'boolean' && typeof expected === 'boolean') {
    if (op === 'eq') return actual === expected;
    if (op === 'ne') return actual !== expected;
    return false;
  }
  return op === 'ne';
}

export function matches(resource: ScimObject, filter: Filter, opts: EvalOptions = {}): boolean {
  switch (filter.op) {
    case 'and':
      return matches(resource, filter.left, opts) && matches(resource, filter.right, opts);
    case 'or':
      return matches(resource, filter.left, opts) || matches(resource, filter.right, opts);
    case 'not':
      return !matches(resource, filter.filter, opts);
    case 'pr':
      return valuesAt(resource, filter.path, opts).some((v) => v !== '' && !(Array.isArray(v) && v.length === 0));
    case 'valuePath': {
      const parents = elementsAt(resource, filter.path, opts);
      return parents.some((el) => matches(el, filter.filter, { ...opts, caseExact: (p) => opts.caseExact?.(`${filter.path}.${p}`) ?? false }));
    }
    default: {
      const exact = opts.caseExact?.(filter.path) ?? false;
      const values = valuesAt(resource, filter.path, opts);
      if (values.length === 0) return compare(filter.op, undefined, filter.value, exact);
      // ne holds when no value equals; the others when some value satisfies them.
      if (filter.op === 'ne') return values.every((v) => compare('ne', v, filter.value, exact));
      return values.some((v) => compare(filter.op, v, filter.value, exact));
    }
  }
}

/** The elements of a multi-valued complex attribute (or the one object of a single-valued one). */
export function elementsAt(resource: ScimObject, path: string, opts: EvalOptions = {}): ScimObject[] {
  const parent = path.includes('.') || path.includes(':') ? undefined : getCI(resource, path);
  const raw = parent !== undefined ? parent : rawAt(resource, path, opts);
  const items = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return items.filter(isObject);
}

function rawAt(resource: ScimObject, path: string, opts: EvalOptions): unknown {
  const lower = path.toLowerCase();
  for (const urn of opts.extensionUrns ?? []) {
    if (lower.startsWith(`${urn.toLowerCase()}:`)) {
      const ext = getCI(resource, urn);
      return isObject(ext) ? getCI(ext, path.slice(urn.length + 1)) : undefined;
    }
  }
  let node: unknown = resource;
  for (const part of path.split('.')) node = isObject(node) ? getCI(node, part) : undefined;
  return node;
}
