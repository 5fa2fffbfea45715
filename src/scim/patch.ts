// PATCH (RFC 7644 §3.5.2) applied to a SCIM resource as JSON. What clients really send is accepted: `op` in any
// case (Entra's `Replace`, `Add`), attribute names in any case, a replace without a path whose value holds the
// attributes (Okta's `{ "op": "replace", "value": { "active": false } }`), extension attributes named by their
// full URN path, and value paths (`emails[type eq "work"].value`). The result is the whole resource after the
// operations, which the caller maps back onto the directory and writes through the directory's own write path.
import { parseFilter, type Filter } from './filter.js';
import { elementsAt, matches } from './filter-eval.js';
import { getCI, isObject, keyOf, type ScimObject } from './resource-shape.js';
import { invalidPath, invalidSyntax, invalidValue, mutability, ScimError } from './scim-error.js';
import { URN } from './urns.js';

type PatchOpName = 'add' | 'replace' | 'remove';

interface PatchOperation {
  op: PatchOpName;
  path?: string;
  value?: unknown;
}

/** The body's operations, checked: a PatchOp message with one or more operations, each with a known `op`. */
export function readPatchBody(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('A PATCH body is a PatchOp message: { "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [...] }.');
  const schemas = getCI(body, 'schemas');
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === URN.patchOp.toLowerCase()))) {
    throw invalidSyntax(`schemas must name ${URN.patchOp}.`);
  }
  const ops = getCI(body, 'Operations');
  if (!Array.isArray(ops) || ops.length === 0) throw invalidSyntax('Operations must be a list of one or more operations.');
  return ops.map((raw, i) => {
    if (!isObject(raw)) throw invalidSyntax(`Operations[${i}] must be an object.`);
    const op = getCI(raw, 'op');
    const name = typeof op === 'string' ? op.toLowerCase() : undefined;
    if (name !== 'add' && name !== 'replace' && name !== 'remove') throw invalidSyntax(`Operations[${i}].op must be add, replace or remove (any case), not ${JSON.stringify(op)}.`);
    const path = getCI(raw, 'path');
    if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) throw invalidPath(`Operations[${i}].path must be a non-empty string.`);
    const value = getCI(raw, 'value');
    if (name === 'remove' && path === undefined) throw new ScimError(400, `Operations[${i}]: remove needs a path.`, 'noTarget');
    if (name !== 'remove' && value === undefined) throw invalidValue(`Operations[${i}]: ${name} needs a value.`);
    return { op: name, ...(path !== undefined ? { path: path.trim() } : {}), ...(value !== undefined ? { value } : {}) };
  });
}

/** A parsed PATCH path: the attribute (with its extension URN, if any), a value filter, a sub-attribute. */
interface PatchPath {
  urn?: string;
  attr: string;
  filter?: Filter;
  sub?: string;
}

export function parsePatchPath(path: string, extensionUrns: readonly string[]): PatchPath {
  let rest = path;
  let urn: string | undefined;
  const lower = path.toLowerCase();
  for (const u of [...extensionUrns, URN.user, URN.group].sort((a, b) => b.length - a.length)) {
    if (lower.startsWith(`${u.toLowerCase()}:`)) {
      urn = u === URN.user || u === URN.group ? undefined : u;
      rest = path.slice(u.length + 1);
      break;
    }
    if (lower === u.toLowerCase()) return { urn: u, attr: '' };
  }
  const bracket = rest.indexOf('[');
  if (bracket >= 0) {
    const close = rest.lastIndexOf(']');
    if (close < bracket) throw invalidPath(`The path ${path} has an unclosed '['.`);
    const attr = rest.slice(0, bracket);
    let filter: Filter;
    try {
      filter = parseFilter(rest.slice(bracket + 1, close));
    } catch (err) {
      throw invalidPath(`The path ${path} has a value filter that does not parse: ${(err as Error).message}`);
    }
    const after = rest.slice(close + 1);
    if (after !== '' && !/^\.[A-Za-z][A-Za-z0-9_$-]*$/.test(after)) throw invalidPath(`The path ${path} continues after ']' with something that is not a sub-attribute.`);
    return { ...(urn ? { urn } : {}), attr, filter, ...(after ? { sub: after.slice(1) } : {}) };
  }
  if (!/^[A-Za-z$][A-Za-z0-9_$-]*(\.[A-Za-z][A-Za-z0-9_-]*)?$/.test(rest)) throw invalidPath(`The path ${path} is not an attribute path.`);
  const [attr, sub] = rest.split('.') as [string, string | undefined];
  return { ...(urn ? { urn } : {}), attr, ...(sub ? { sub } : {}) };
}

export interface PatchTarget {
  /** Attributes a client may not change (id, meta, ...): a patch naming them is a 400 mutability. */
  readOnly: readonly string[];
  /** Multi-valued attributes, by canonical name. */
  multiValued: readonly string[];
  extensionUrns: readonly string[];
}

function containerFor(resource: ScimObject, urn: string | undefined, create: boolean): ScimObject | undefined {
  if (!urn) return resource;
  const key = keyOf(resource, urn);
  if (key !== undefined && isObject(resource[key])) return resource[key] as ScimObject;
  if (!create) return undefined;
  const obj: ScimObject = {};
  resource[urn] = obj;
  if (Array.isArray(resource.schemas) && !resource.schemas.includes(urn)) resource.schemas.push(urn);
  return obj;
}

function setAttr(container: ScimObject, name: string, value: unknown, op: PatchOpName, multiValued: boolean): void {
  const key = keyOf(container, name) ?? name;
  const current = container[key];
  if (multiValued) {
    const items = Array.isArray(value) ? value : [value];
    if (op === 'add' && Array.isArray(current)) {
      const seen = new Set(current.map((c) => JSON.stringify(isObject(c) ? getCI(c, 'value') : c)));
      container[key] = [...current, ...items.filter((i) => !seen.has(JSON.stringify(isObject(i) ? getCI(i, 'value') : i)))];
    } else container[key] = items;
    return;
  }
  // A complex single-valued attribute takes the sub-attributes given and keeps the others (§3.5.2.1, §3.5.2.3).
  if (isObject(value) && isObject(current)) {
    for (const [k, v] of Object.entries(value)) current[keyOf(current, k) ?? k] = v;
    return;
  }
  container[key] = value;
}

function removeAttr(container: ScimObject, name: string): void {
  const key = keyOf(container, name);
  if (key !== undefined) delete container[key];
}

function checkWritable(attr: string, target: PatchTarget): void {
  if (target.readOnly.some((r) => r.toLowerCase() === attr.toLowerCase())) throw mutability(`${attr} cannot be changed.`);
}

function applyOne(resource: ScimObject, op: PatchOperation, target: PatchTarget): void {
  if (op.path === undefined) {
    // No path: the value's attributes are each added or replaced (an extension's by its URN).
    if (!isObject(op.value)) throw invalidValue(`${op.op} without a path needs an object of attributes as its value.`);
    for (const [k, v] of Object.entries(op.value)) {
      if (k.toLowerCase() === 'schemas') continue;
      const ext = target.extensionUrns.find((u) => u.toLowerCase() === k.toLowerCase());
      if (ext && isObject(v)) {
        const container = containerFor(resource, ext, true)!;
        for (const [sub, sv] of Object.entries(v)) setAttr(container, sub, sv, op.op, false);
        continue;
      }
      applyOne(resource, { op: op.op, path: k, value: v }, target);
    }
    return;
  }
  const path = parsePatchPath(op.path, target.extensionUrns);
  if (path.attr === '') {
    // The path names a whole extension.
    if (op.op === 'remove') removeAttr(resource, path.urn!);
    else if (isObject(op.value)) {
      const container = containerFor(resource, path.urn, true)!;
      for (const [sub, sv] of Object.entries(op.value)) setAttr(container, sub, sv, op.op, false);
    } else throw invalidValue(`The value for ${op.path} must be an object.`);
    return;
  }
  if (!path.urn) checkWritable(path.attr, target);
  const multiValued = !path.urn && target.multiValued.some((m) => m.toLowerCase() === path.attr.toLowerCase());
  const container = containerFor(resource, path.urn, op.op !== 'remove');
  if (!container) return;

  if (path.filter) {
    const elements = elementsAt(container, path.attr);
    const hits = elements.filter((el) => matches(el, path.filter!));
    const key = keyOf(container, path.attr) ?? path.attr;
    if (op.op === 'remove') {
      if (path.sub) for (const el of hits) removeAttr(el, path.sub);
      else container[key] = elements.filter((el) => !hits.includes(el));
      return;
    }
    if (hits.length === 0) {
      if (op.op === 'replace' && !path.sub) throw new ScimError(400, `No value of ${path.attr} matches ${op.path}.`, 'noTarget');
      // Entra adds `emails[type eq "work"].value` to a user without that email: the element the filter describes.
      const element: ScimObject = {};
      collectEqualities(path.filter, element);
      if (path.sub) element[path.sub] = op.value;
      else if (isObject(op.value)) Object.assign(element, op.value);
      container[key] = [...elements, element];
      return;
    }
    for (const el of hits) {
      if (path.sub) el[keyOf(el, path.sub) ?? path.sub] = op.value;
      else if (isObject(op.value)) for (const [k, v] of Object.entries(op.value)) el[keyOf(el, k) ?? k] = v;
      else throw invalidValue(`The value for ${op.path} must be an object.`);
    }
    return;
  }
  if (path.sub) {
    if (op.op === 'remove') {
      const parent = getCI(container, path.attr);
      if (isObject(parent)) removeAttr(parent, path.sub);
      else if (Array.isArray(parent)) for (const el of parent) if (isObject(el)) removeAttr(el, path.sub);
      return;
    }
    const key = keyOf(container, path.attr) ?? path.attr;
    const parent = container[key];
    if (Array.isArray(parent)) {
      for (const el of parent) if (isObject(el)) el[keyOf(el, path.sub) ?? path.sub] = op.value;
      return;
    }
    const obj = isObject(parent) ? parent : {};
    obj[keyOf(obj, path.sub) ?? path.sub] = op.value;
    container[key] = obj;
    return;
  }
  if (op.op === 'remove') {
    if (multiValued && op.value !== undefined) {
      // Entra's member removal: { "op": "Remove", "path": "members", "value": [{ "value": "id" }] }.
      const drop = new Set((Array.isArray(op.value) ? op.value : [op.value]).map((v) => String(isObject(v) ? getCI(v, 'value') : v)));
      const key = keyOf(container, path.attr);
      if (key !== undefined && Array.isArray(container[key])) container[key] = (container[key] as unknown[]).filter((el) => !drop.has(String(isObject(el) ? getCI(el, 'value') : el)));
      return;
    }
    removeAttr(container, path.attr);
    return;
  }
  setAttr(container, path.attr, op.value, op.op, multiValued);
}

/** `type eq "work"` (and `and`s of equalities) as the attributes of a new element. */
function collectEqualities(filter: Filter, into: ScimObject): void {
  if (filter.op === 'and') {
    collectEqualities(filter.left, into);
    collectEqualities(filter.right, into);
  } else if (filter.op === 'eq') into[filter.path] = filter.value;
}

/** The resource after every operation, in order; the input is not changed. */
export function applyPatch(resource: ScimObject, operations: readonly PatchOperation[], target: PatchTarget): ScimObject {
  const out = structuredClone(resource);
  for (const op of operations) applyOne(out, op, target);
  return out;
}
