// A SCIM filter on Users as a database query. Every attribute the directory stores maps onto its stored field
// (userName and emails.value onto `emailLower`, id and externalId onto `_id`, active onto `status`, ...), so the
// database answers the filter; `userName eq` and `externalId eq` become a top-level equality on an indexed field
// (the unique index on emailLower, the _id), the one kind of query the embedded database serves from an index.
// `and` of such equalities stays a top-level object for the same reason. What has no stored field (displayName,
// name.formatted) or no exact database form (ordering of case-insensitive text) narrows nothing in the query and is
// checked in memory on the candidates (`exact: false`).
import type { Document } from 'mongodb';
import type { FieldDefinitions } from '../directory/user-values.js';
import type { CompValue, Filter } from './filter.js';
import { resolvePath, userSchemaDefs } from './schemas.js';
import { URN } from './urns.js';

interface CompiledQuery {
  query: Document;
  /** False when the query is wider than the filter: the candidates must be checked in memory. */
  exact: boolean;
}

/** Matches nothing (a value no stored attribute can have); the database still answers it. */
const NOTHING: Document = { _id: { $in: [] } };
const EVERYTHING: Document = {};
const inMemory = (): CompiledQuery => ({ query: EVERYTHING, exact: false });

type Target =
  | { kind: 'id' | 'email' | 'text' | 'status' | 'type' | 'instant'; field: string }
  | { kind: 'constant'; value: unknown }
  | { kind: 'field'; field: string; fieldType: 'text' | 'select' | 'number' | 'boolean' | 'date' };

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a User attribute is stored; undefined for one that is derived (displayName) or unknown. */
function targetOf(path: string, defs: FieldDefinitions, context?: 'emails'): Target | undefined {
  if (context === 'emails') {
    const p = path.toLowerCase();
    if (p === 'value') return { kind: 'email', field: 'emailLower' };
    if (p === 'type') return { kind: 'constant', value: 'work' };
    if (p === 'primary') return { kind: 'constant', value: true };
    return undefined;
  }
  const r = resolvePath(path, userSchemaDefs(defs), URN.user);
  const full = r.sub !== undefined ? `${r.attr}.${r.sub}` : r.attr;
  if (r.urn === URN.user) {
    switch (full) {
      case 'id':
      case 'externalId':
        return { kind: 'id', field: '_id' };
      case 'userName':
      case 'emails':
      case 'emails.value':
        return { kind: 'email', field: 'emailLower' };
      case 'emails.type':
        return { kind: 'constant', value: 'work' };
      case 'emails.primary':
        return { kind: 'constant', value: true };
      case 'name.givenName':
        return { kind: 'text', field: 'firstName' };
      case 'name.familyName':
        return { kind: 'text', field: 'lastName' };
      case 'active':
        return { kind: 'status', field: 'status' };
      case 'userType':
        return { kind: 'type', field: 'type' };
      case 'meta.created':
        return { kind: 'instant', field: 'createdAt' };
      case 'meta.lastModified':
        return { kind: 'instant', field: 'updatedAt' };
      default:
        return undefined;
    }
  }
  const key = r.urn === URN.enterprise && r.attr === 'manager' && (r.sub === undefined || r.sub === 'value') ? 'manager' : r.sub === undefined ? r.attr : undefined;
  const def = key !== undefined ? defs.get(key) : undefined;
  return def ? { kind: 'field', field: `fields.${def.key}`, fieldType: def.type } : undefined;
}

function constantMatches(op: string, actual: unknown, value: CompValue): boolean {
  const a = typeof actual === 'string' ? actual.toLowerCase() : actual;
  const v = typeof value === 'string' ? value.toLowerCase() : value;
  if (op === 'pr') return true;
  if (op === 'eq') return a === v;
  if (op === 'ne') return a !== v;
  if (typeof a === 'string' && typeof v === 'string') {
    if (op === 'co') return a.includes(v);
    if (op === 'sw') return a.startsWith(v);
    if (op === 'ew') return a.endsWith(v);
  }
  return false;
}

function stringCondition(op: string, value: string, caseExact: boolean): Document | undefined {
  const flags = caseExact ? '' : 'i';
  const e = escapeRegex(value);
  switch (op) {
    case 'eq': return caseExact ? { $eq: value } : { $regex: `^${e}$`, $options: flags };
    case 'ne': return caseExact ? { $ne: value } : { $not: new RegExp(`^${e}$`, flags) };
    case 'co': return { $regex: e, $options: flags };
    case 'sw': return { $regex: `^${e}`, $options: flags };
    case 'ew': return { $regex: `${e}$`, $options: flags };
    default: return caseExact ? { [`$${op === 'ge' ? 'gte' : op === 'le' ? 'lte' : op}`]: value } : undefined;
  }
}

const ORDER: Record<string, string> = { gt: '$gt', ge: '$gte', lt: '$lt', le: '$lte', eq: '$eq', ne: '$ne' };

function comparison(op: string, path: string, value: CompValue, defs: FieldDefinitions, context?: 'emails'): CompiledQuery {
  const t = targetOf(path, defs, context);
  if (!t) return inMemory();
  if (t.kind === 'constant') return { query: constantMatches(op, t.value, value) ? EVERYTHING : NOTHING, exact: true };
  if (op === 'pr') return { query: t.kind === 'field' ? { [t.field]: { $exists: true } } : EVERYTHING, exact: true };
  if (value === null) {
    if (t.kind === 'field' && (op === 'eq' || op === 'ne')) return { query: { [t.field]: { $exists: op === 'ne' } }, exact: true };
    return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
  }
  switch (t.kind) {
    case 'email': {
      if (typeof value !== 'string') return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
      // emailLower holds the address in lower case: an equality is exact and served by its unique index.
      const v = value.toLowerCase();
      if (op === 'eq') return { query: { emailLower: v }, exact: true };
      const cond = stringCondition(op, v, true);
      return cond ? { query: { emailLower: cond }, exact: true } : inMemory();
    }
    case 'id': {
      if (typeof value !== 'string') return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
      if (op === 'eq') return { query: { _id: value }, exact: true };
      const cond = stringCondition(op, value, true);
      return cond ? { query: { _id: cond }, exact: true } : inMemory();
    }
    case 'text': {
      if (typeof value !== 'string') return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
      const cond = stringCondition(op, value, false);
      return cond ? { query: { [t.field]: cond }, exact: true } : inMemory();
    }
    case 'status': {
      const b = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : undefined;
      if (b === undefined || (op !== 'eq' && op !== 'ne')) return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
      return { query: { status: (op === 'eq') === b ? 'active' : 'inactive' }, exact: true };
    }
    case 'type': {
      const v = typeof value === 'string' ? value.toLowerCase() : undefined;
      const type = v === 'learner' || v === 'student' ? 'learner' : v === 'staff' || v === 'employee' ? 'staff' : undefined;
      if (op === 'eq') return { query: type ? { type } : NOTHING, exact: true };
      if (op === 'ne') return { query: type ? { type: { $ne: type } } : EVERYTHING, exact: true };
      return inMemory();
    }
    case 'instant': {
      const at = typeof value === 'string' ? new Date(value) : undefined;
      if (!at || Number.isNaN(at.getTime()) || !ORDER[op]) return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
      return { query: { [t.field]: { [ORDER[op]!]: at } }, exact: true };
    }
    case 'field': {
      if (t.fieldType === 'number' || t.fieldType === 'boolean') {
        const v = t.fieldType === 'number' && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : t.fieldType === 'boolean' && typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
        if (typeof v !== (t.fieldType === 'number' ? 'number' : 'boolean') || !ORDER[op]) return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
        return { query: { [t.field]: { [ORDER[op]!]: v } }, exact: true };
      }
      if (typeof value !== 'string') return { query: op === 'ne' ? EVERYTHING : NOTHING, exact: true };
      // A select's options and a date's YYYY-MM-DD are exact; free text compares ignoring case.
      const cond = stringCondition(op, value, t.fieldType !== 'text');
      return cond ? { query: { [t.field]: cond }, exact: true } : inMemory();
    }
  }
}

/** Both conditions: as one top-level object when their keys do not meet (top-level equalities stay indexed). */
function both(a: Document, b: Document): Document {
  if (a === EVERYTHING || Object.keys(a).length === 0) return b;
  if (Object.keys(b).length === 0) return a;
  const clash = Object.keys(a).some((k) => k in b || k.startsWith('$')) || Object.keys(b).some((k) => k.startsWith('$'));
  return clash ? { $and: [a, b] } : { ...a, ...b };
}

export function compileUserFilter(filter: Filter, defs: FieldDefinitions, context?: 'emails'): CompiledQuery {
  switch (filter.op) {
    case 'and': {
      const l = compileUserFilter(filter.left, defs, context);
      const r = compileUserFilter(filter.right, defs, context);
      return { query: both(l.query, r.query), exact: l.exact && r.exact };
    }
    case 'or': {
      const l = compileUserFilter(filter.left, defs, context);
      const r = compileUserFilter(filter.right, defs, context);
      return l.exact && r.exact ? { query: { $or: [l.query, r.query] }, exact: true } : inMemory();
    }
    case 'not': {
      const inner = compileUserFilter(filter.filter, defs, context);
      return inner.exact ? { query: { $nor: [inner.query] }, exact: true } : inMemory();
    }
    case 'valuePath': {
      const r = context ? undefined : resolvePath(filter.path, userSchemaDefs(defs), URN.user);
      if (r?.urn === URN.user && r.attr === 'emails' && r.sub === undefined) return compileUserFilter(filter.filter, defs, 'emails');
      return inMemory();
    }
    case 'pr':
      return comparison('pr', filter.path, null, defs, context);
    default:
      return comparison(filter.op, filter.path, filter.value, defs, context);
  }
}

/** The stored field a sortBy attribute orders by; undefined for one ordered in memory. */
export function sortFieldOf(path: string, defs: FieldDefinitions): string | undefined {
  const t = targetOf(path, defs);
  return t && t.kind !== 'constant' ? t.field : undefined;
}
