// The query of a SCIM list (RFC 7644 §3.4.2): filter, sortBy/sortOrder, startIndex/count, attributes and
// excludedAttributes, from a GET's query string or a POST /.search body. Unknown parameters are ignored (Entra adds
// `aadOptscim062020` to the tenant URL, which arrives on every request).
import { invalidValue } from './scim-error.js';
import { attributeList, getCI, isObject, type ScimObject } from './resource-shape.js';

export const MAX_COUNT = 1000;
const DEFAULT_COUNT = 100;

export interface ListParams {
  filter?: string;
  sortBy?: string;
  sortOrder?: 'ascending' | 'descending';
  startIndex: number;
  count: number;
  attributes?: string[];
  excludedAttributes?: string[];
}

export interface ListResult {
  total: number;
  resources: ScimObject[];
}

function oneString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw invalidValue(`${name} may be given once.`);
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') throw invalidValue(`${name} must be text.`);
  return value;
}

function integer(value: unknown, name: string): number | undefined {
  const text = oneString(value, name);
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw invalidValue(`${name} must be an integer, not ${JSON.stringify(text)}.`);
  return Number(text);
}

/** From a GET query (names matched ignoring case) or a SearchRequest body (attributes as lists there). */
export function readListParams(source: unknown): ListParams {
  const q: ScimObject = isObject(source) ? source : {};
  const list = (name: string) => {
    const v = getCI(q, name);
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : attributeList(oneString(v, name));
  };
  const sortOrder = oneString(getCI(q, 'sortOrder'), 'sortOrder');
  if (sortOrder !== undefined && !['ascending', 'descending'].includes(sortOrder.toLowerCase())) throw invalidValue('sortOrder must be ascending or descending.');
  // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
  const startIndex = Math.max(1, integer(getCI(q, 'startIndex'), 'startIndex') ?? 1);
  const count = Math.min(MAX_COUNT, Math.max(0, integer(getCI(q, 'count'), 'count') ?? DEFAULT_COUNT));
  const filter = oneString(getCI(q, 'filter'), 'filter');
  const sortBy = oneString(getCI(q, 'sortBy'), 'sortBy');
  const attributes = list('attributes');
  const excludedAttributes = list('excludedAttributes');
  return {
    ...(filter !== undefined ? { filter } : {}),
    ...(sortBy !== undefined && sortBy !== '' ? { sortBy } : {}),
    ...(sortOrder !== undefined ? { sortOrder: sortOrder.toLowerCase() as 'ascending' | 'descending' } : {}),
    startIndex,
    count,
    ...(attributes ? { attributes } : {}),
    ...(excludedAttributes ? { excludedAttributes } : {}),
  };
}
