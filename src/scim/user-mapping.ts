// A directory user as a SCIM User, and a SCIM User as the directory's input. The mapping (docs/scim.md):
//   id, externalId          ↔ externalId (the directory's _id; taken from SCIM externalId at creation, else userName)
//   userName, emails[work]  ↔ email (one address; userName is the one read)
//   name.givenName/familyName ↔ firstName/lastName (displayName "First Last" when name is not sent)
//   active                  ↔ status (false: inactive)
//   userType                ↔ type (learner/staff; Student → learner, Employee → staff)
//   enterprise extension    ↔ the additional field of the same key, when defined
//   our extension           ↔ every additional field, typed by its definition
import type { UserView } from '../directory/users.service.js';
import type { FieldDefinitions } from '../directory/user-values.js';
import { fieldValueFromText } from '../directory/user-values.js';
import { ValidationError, type FieldError } from '../platform/errors.js';
import { invalidValue } from './scim-error.js';
import { getCI, isObject, looseBoolean, versionOf, type ScimObject } from './resource-shape.js';
import { ENTERPRISE_ATTRIBUTES } from './schemas.js';
import { URN } from './urns.js';

export function userLocation(baseUrl: string, id: string): string {
  return `${baseUrl}/Users/${encodeURIComponent(id)}`;
}

export function toScimUser(user: UserView, baseUrl: string): ScimObject {
  const enterprise: ScimObject = {};
  for (const key of ENTERPRISE_ATTRIBUTES) {
    const value = user.fields[key];
    if (value === undefined) continue;
    enterprise[key] = key === 'manager' ? { value: String(value) } : String(value);
  }
  const hasFields = Object.keys(user.fields).length > 0;
  const resource: ScimObject = {
    schemas: [URN.user, ...(Object.keys(enterprise).length ? [URN.enterprise] : []), ...(hasFields ? [URN.fields] : [])],
    id: user.externalId,
    externalId: user.externalId,
    userName: user.email,
    name: { givenName: user.firstName, familyName: user.lastName, formatted: `${user.firstName} ${user.lastName}` },
    displayName: `${user.firstName} ${user.lastName}`,
    userType: user.type,
    active: user.status === 'active',
    emails: [{ value: user.email, type: 'work', primary: true }],
    ...(Object.keys(enterprise).length ? { [URN.enterprise]: enterprise } : {}),
    ...(hasFields ? { [URN.fields]: { ...user.fields } } : {}),
  };
  resource.meta = { resourceType: 'User', created: user.createdAt, lastModified: user.updatedAt, location: userLocation(baseUrl, user.externalId), version: versionOf(resource) };
  return resource;
}

/** What a SCIM User says of the directory's attributes. Absent: the SCIM resource did not say. */
interface DirectoryInput {
  email?: unknown;
  firstName?: unknown;
  lastName?: unknown;
  type?: 'learner' | 'staff';
  status?: 'active' | 'inactive';
  /** Field values by key; `null` removes one. Only keys whose extension the resource carried. */
  fields?: Record<string, unknown>;
  /** The extensions the resource carried (a replace leaves the fields of the others as stored). */
  carried: { enterprise: boolean; fields: boolean };
}

const USER_TYPES: Record<string, 'learner' | 'staff'> = { learner: 'learner', student: 'learner', staff: 'staff', employee: 'staff' };

function userTypeOf(value: unknown): 'learner' | 'staff' {
  const t = typeof value === 'string' ? USER_TYPES[value.trim().toLowerCase()] : undefined;
  if (!t) throw invalidValue(`userType must be learner or staff (Student and Employee are read as those), not ${JSON.stringify(value)}.`);
  return t;
}

/** The string a field value arrives as, converted to the field's type (numbers and booleans also arrive as text). */
function fieldValue(defs: FieldDefinitions, key: string, value: unknown): unknown {
  const def = defs.get(key);
  if (value === null || !def) return value;
  return typeof value === 'string' ? fieldValueFromText(def, value) : value;
}

/** A SCIM User body (or a resource after a patch) read as the directory's attributes. */
export function fromScimUser(body: ScimObject, defs: FieldDefinitions): DirectoryInput {
  const out: DirectoryInput = { carried: { enterprise: false, fields: false } };
  const userName = getCI(body, 'userName');
  if (userName !== undefined) out.email = userName;
  const name = getCI(body, 'name');
  const displayName = getCI(body, 'displayName');
  if (isObject(name)) {
    const given = getCI(name, 'givenName');
    const family = getCI(name, 'familyName');
    if (given !== undefined) out.firstName = given;
    if (family !== undefined) out.lastName = family;
  }
  if (typeof displayName === 'string' && displayName.trim() && (out.firstName === undefined || out.lastName === undefined)) {
    const words = displayName.trim().split(/\s+/);
    const first = words.length > 1 ? words.slice(0, -1).join(' ') : words[0]!;
    const last = words.length > 1 ? words[words.length - 1]! : undefined;
    out.firstName ??= first;
    if (last !== undefined) out.lastName ??= last;
  }
  const active = getCI(body, 'active');
  if (active !== undefined && active !== null) out.status = looseBoolean(active, 'active') ? 'active' : 'inactive';
  const userType = getCI(body, 'userType');
  if (userType !== undefined && userType !== null) out.type = userTypeOf(userType);

  const fields: Record<string, unknown> = {};
  const enterprise = getCI(body, URN.enterprise);
  if (isObject(enterprise)) {
    out.carried.enterprise = true;
    for (const key of ENTERPRISE_ATTRIBUTES) {
      if (!defs.has(key)) continue;
      let value = getCI(enterprise, key);
      if (key === 'manager' && isObject(value)) value = getCI(value, 'value');
      if (value === undefined) continue;
      fields[key] = fieldValue(defs, key, value === '' ? null : value);
    }
  }
  const ours = getCI(body, URN.fields);
  if (isObject(ours)) {
    out.carried.fields = true;
    for (const [k, value] of Object.entries(ours)) {
      const key = [...defs.keys()].find((d) => d.toLowerCase() === k.toLowerCase()) ?? k;
      fields[key] = fieldValue(defs, key, value);
    }
  }
  if (out.carried.enterprise || out.carried.fields) out.fields = fields;
  return out;
}

/** The directory's field errors in SCIM's attribute names: `email` is `userName`, `fields.x` the extension's `x`. */
export function scimPath(path: string): string {
  if (path === 'email') return 'userName';
  if (path === 'firstName') return 'name.givenName';
  if (path === 'lastName') return 'name.familyName';
  if (path === 'status') return 'active';
  if (path === 'type') return 'userType';
  if (path.startsWith('fields.')) return `${URN.fields}:${path.slice('fields.'.length)}`;
  return path;
}

export function renamedErrors(err: unknown): unknown {
  if (err instanceof ValidationError && err.errors) {
    const errors: FieldError[] = err.errors.map((e) => ({ path: scimPath(e.path), message: e.message }));
    return new ValidationError(err.message, errors);
  }
  return err;
}

