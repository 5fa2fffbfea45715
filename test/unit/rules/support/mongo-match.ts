// A small in-memory MongoDB matcher for the operators compile-filter.ts emits, with MongoDB's semantics for
// them (missing fields, null, type bracketing in comparisons). There is no database in unit tests; the lead's
// integration tests run the filters on FerretDB and MongoDB.

export const EMITTED_OPERATORS = new Set([
  '$and', '$or', '$nor', '$eq', '$ne', '$in', '$nin', '$lt', '$lte', '$gt', '$gte', '$exists', '$type', '$regex',
]);

function resolve(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, part) ? (cur as Record<string, unknown>)[part] : undefined;
  }
  return cur;
}

function typeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (v instanceof Date) return 'date';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool' : 'object';
}

function equal(a: unknown, b: unknown): boolean {
  if (b === null) return a === null || a === undefined;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

function compare(a: unknown, b: unknown): number | null {
  const ta = typeName(a);
  if (ta !== typeName(b)) return null; // type bracketing
  if (ta === 'number') return (a as number) - (b as number);
  if (ta === 'date') return (a as Date).getTime() - (b as Date).getTime();
  if (ta === 'string') {
    const x = Buffer.from(a as string, 'utf8');
    const y = Buffer.from(b as string, 'utf8');
    return Buffer.compare(x, y);
  }
  return null;
}

/** The emitted regex dialect (PCRE/RE2) as JavaScript: \x{h} → \u{h}, \z → $. */
export function toJsRegex(pattern: string): RegExp {
  const js = pattern.replace(/\\x\{([0-9a-f]+)\}/g, '\\u{$1}').replace(/\\z$/, '$');
  return new RegExp(js, 'u');
}

function fieldMatches(value: unknown, cond: unknown): boolean {
  if (cond === null || typeof cond !== 'object' || cond instanceof Date || Array.isArray(cond)) return equal(value, cond);
  const ops = cond as Record<string, unknown>;
  if (!Object.keys(ops).every((k) => k.startsWith('$'))) return false;
  return Object.entries(ops).every(([op, arg]) => {
    switch (op) {
      case '$eq':
        return equal(value, arg);
      case '$ne':
        return !equal(value, arg);
      case '$in':
        return (arg as unknown[]).some((x) => equal(value, x));
      case '$nin':
        return !(arg as unknown[]).some((x) => equal(value, x));
      case '$lt':
      case '$lte':
      case '$gt':
      case '$gte': {
        const c = compare(value, arg);
        if (c === null) return false;
        return op === '$lt' ? c < 0 : op === '$lte' ? c <= 0 : op === '$gt' ? c > 0 : c >= 0;
      }
      case '$exists':
        return (value !== undefined) === arg;
      case '$type':
        return typeName(value) === arg;
      case '$regex':
        return typeof value === 'string' && toJsRegex(arg as string).test(value);
      default:
        throw new Error(`matcher: unexpected operator ${op}`);
    }
  });
}

export function matches(doc: unknown, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return (cond as Record<string, unknown>[]).every((f) => matches(doc, f));
    if (key === '$or') return (cond as Record<string, unknown>[]).some((f) => matches(doc, f));
    if (key === '$nor') return !(cond as Record<string, unknown>[]).some((f) => matches(doc, f));
    if (key.startsWith('$')) throw new Error(`matcher: unexpected top-level operator ${key}`);
    return fieldMatches(resolve(doc, key), cond);
  });
}

/** Every $operator a filter uses. */
export function operatorsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => operatorsIn(v, out));
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('$')) out.add(k);
      operatorsIn(v, out);
    }
  }
  return out;
}

/** Every $regex pattern in a filter. */
export function regexesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => regexesIn(v, out));
  else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$regex') out.push(v as string);
      else regexesIn(v, out);
    }
  }
  return out;
}
