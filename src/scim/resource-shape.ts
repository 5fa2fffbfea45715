// What every SCIM resource shares: attribute names matched in any case, `attributes` / `excludedAttributes`
// projection (RFC 7644 §3.4.2.5), entity tags (`meta.version`, §3.14) and SCIM's loose booleans.
import { representationEtag } from '../platform/conditional.js';
import { invalidValue, ScimError } from './scim-error.js';

export type ScimObject = Record<string, unknown>;

export function isObject(v: unknown): v is ScimObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The key of `obj` equal to `name` ignoring case, or undefined. */
export function keyOf(obj: ScimObject, name: string): string | undefined {
  if (name in obj) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

export function getCI(obj: ScimObject, name: string): unknown {
  const k = keyOf(obj, name);
  return k === undefined ? undefined : obj[k];
}

/**
 * A boolean as clients send it: `true`/`false`, or, from Entra without `?aadOptscim062020`, the strings "True" and
 * "False" (any case). Anything else is a 400 naming the attribute.
 */
export function looseBoolean(value: unknown, attribute: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  throw invalidValue(`${attribute} must be true or false (got ${JSON.stringify(value)}).`);
}

/** The weak entity tag of a resource: a hash of everything it shows but its meta. */
export function versionOf(resource: ScimObject): string {
  const { meta: _meta, ...rest } = resource;
  return `W/${representationEtag(rest)}`;
}

/**
 * If-Match against a resource's version. SCIM versions are weak tags, and RFC 7644 §3.14 compares them as they
 * are, so weakness is ignored: `W/"x"` and `"x"` both match. `*` matches any existing resource.
 */
export function checkIfMatch(header: string | undefined, version: string): void {
  if (header === undefined) return;
  if (header.trim() === '*') return;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  const wanted = opaque(version);
  if (!header.split(',').some((t) => opaque(t) === wanted)) {
    throw new ScimError(412, `If-Match does not name the resource's current version (${version}); read it again and retry.`);
  }
}

/** Attribute paths of `attributes` / `excludedAttributes`: comma-separated, any case. */
export function attributeList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidValue('attributes and excludedAttributes are comma-separated attribute names.');
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The URN prefixes a path may carry, longest first, so `urn:…:User:department` splits as the extension's. */
function splitPath(path: string, urns: readonly string[]): string[] {
  const lower = path.toLowerCase();
  for (const urn of urns) {
    if (lower === urn.toLowerCase()) return [urn];
    if (lower.startsWith(`${urn.toLowerCase()}:`)) return [urn, ...path.slice(urn.length + 1).split('.')];
  }
  return path.split('.');
}

/**
 * The resource with only the attributes asked for (plus `id` and `schemas`, always returned), or without the
 * excluded ones. Paths may name sub-attributes (`name.givenName`) and extension attributes by URN; a core
 * attribute may also be named with the core URN.
 */
export function project(resource: ScimObject, opts: { attributes?: string[] | undefined; excluded?: string[] | undefined; coreUrn: string; extensionUrns: readonly string[] }): ScimObject {
  const urns = [...opts.extensionUrns, opts.coreUrn].sort((a, b) => b.length - a.length);
  const segments = (path: string) => {
    const parts = splitPath(path, urns);
    return parts[0]?.toLowerCase() === opts.coreUrn.toLowerCase() ? parts.slice(1) : parts;
  };
  if (opts.attributes?.length) {
    const out: ScimObject = {};
    const copy = (from: ScimObject, to: ScimObject, parts: string[]) => {
      const [head, ...rest] = parts;
      if (head === undefined) return;
      const key = keyOf(from, head);
      if (key === undefined) return;
      const value = from[key];
      if (rest.length === 0 || !isObject(value)) {
        if (rest.length === 0) to[key] = value;
        else if (Array.isArray(value)) to[key] = value.map((el) => (isObject(el) ? pick(el, rest) : el));
        return;
      }
      const target = isObject(to[key]) ? (to[key] as ScimObject) : {};
      copy(value, target, rest);
      to[key] = target;
    };
    const pick = (el: ScimObject, rest: string[]): ScimObject => {
      const o: ScimObject = {};
      copy(el, o, rest);
      return o;
    };
    for (const path of opts.attributes) copy(resource, out, segments(path));
    out.id = resource.id;
    out.schemas = resource.schemas;
    return Object.fromEntries(Object.keys(resource).filter((k) => k in out).map((k) => [k, out[k]]));
  }
  if (opts.excluded?.length) {
    const out = structuredClone(resource);
    for (const path of opts.excluded) {
      const parts = segments(path);
      let node: unknown = out;
      for (let i = 0; i < parts.length; i++) {
        if (!isObject(node)) break;
        const key = keyOf(node, parts[i]!);
        if (key === undefined) break;
        if (i === parts.length - 1) {
          if (!(node === out && (key === 'id' || key === 'schemas'))) delete node[key];
        } else node = node[key];
      }
    }
    return out;
  }
  return resource;
}
