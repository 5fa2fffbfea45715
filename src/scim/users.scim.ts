// SCIM Users over the directory. Reads go to the users collection; every write goes through the directory's
// public write functions (putUser, patchUser, deleteUser), so it is validated, versioned in the outbox and reacted to exactly
// like a REST write: membership is settled by the time it answers, and history names the SCIM client's key.
import type { Document } from 'mongodb';
import { deleteUser, getUser, patchUser, putUser, userView, WITHOUT_ENROLLMENTS, type UserView } from '../directory/users.service.js';
import { loadFieldDefinitions } from '../directory/field-definitions.service.js';
import { usersCollection } from '../directory/user-store.js';
import type { UserDoc } from '../directory/user.model.js';
import type { FieldDefinitions } from '../directory/user-values.js';
import { EXTERNAL_ID_PATTERN } from '../directory/identifiers.js';
import type { WriteContext } from './write-context.js';
import { ConflictError, NotFoundError } from '../platform/errors.js';
import { db } from '../platform/db/index.js';
import { parseFilter } from './filter.js';
import { matches } from './filter-eval.js';
import { compileUserFilter, sortFieldOf } from './user-query.js';
import { applyPatch, readPatchBody, type PatchTarget } from './patch.js';
import { checkIfMatch, getCI, isObject, type ScimObject } from './resource-shape.js';
import { fromScimUser, renamedErrors, toScimUser } from './user-mapping.js';
import { invalidValue, mutability, notFound, uniqueness } from './scim-error.js';
import { ENTERPRISE_ATTRIBUTES, resolvePath, userSchemaDefs } from './schemas.js';
import { URN } from './urns.js';
import type { ListParams, ListResult } from './list-params.js';

const USER_PATCH_TARGET: PatchTarget = { readOnly: ['id', 'meta', 'schemas'], multiValued: ['emails'], extensionUrns: [URN.enterprise, URN.fields] };

/** A directory write with its field errors named as SCIM attributes, and a missing user as SCIM's 404. */
async function write<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NotFoundError) throw notFound(err.message);
    throw renamedErrors(err);
  }
}

async function readUser(id: string): Promise<UserView> {
  try {
    return await getUser(id);
  } catch (err) {
    if (err instanceof NotFoundError) throw notFound(`No user with id ${id}.`);
    throw err;
  }
}

/**
 * The directory's externalId for a new SCIM user: the SCIM `externalId` when the client sends one (the identifier
 * the IdP or HR system knows the person by, so a SCIM client and a batch feed name the same user the same way),
 * otherwise the userName.
 */
export function chooseExternalId(body: ScimObject): string {
  const given = getCI(body, 'externalId');
  const userName = getCI(body, 'userName');
  if (given !== undefined && given !== null) {
    if (typeof given !== 'string' || !EXTERNAL_ID_PATTERN.test(given)) throw invalidValue('externalId must be 1-128 letters, digits or ._@+- starting with a letter or digit.');
    return given;
  }
  if (typeof userName !== 'string' || userName.trim() === '') throw invalidValue('userName is required: the user\'s email address.');
  if (!EXTERNAL_ID_PATTERN.test(userName)) throw invalidValue('userName must be an email address (it becomes the user\'s id when no externalId is sent).');
  return userName;
}

/** The body a new user is PUT with: what the resource says, with the directory's defaults (learner, active). */
export function creationBody(body: ScimObject, defs: FieldDefinitions): Record<string, unknown> {
  if (!isObject(body)) throw invalidValue('A User is a JSON object.');
  const input = fromScimUser(body, defs);
  if (input.email === undefined) throw invalidValue('userName is required: the user\'s email address.');
  const fields = Object.fromEntries(Object.entries(input.fields ?? {}).filter(([, v]) => v !== null));
  return {
    email: input.email,
    firstName: input.firstName,
    lastName: input.lastName,
    type: input.type ?? 'learner',
    status: input.status ?? 'active',
    fields,
  };
}

export async function createScimUser(body: unknown, ctx: WriteContext, baseUrl: string): Promise<ScimObject> {
  if (!isObject(body)) throw invalidValue('A User is a JSON object.');
  const defs = await loadFieldDefinitions();
  const id = chooseExternalId(body);
  const record = creationBody(body, defs);
  // POST creates: a user already there is a 409 (Okta's and Entra's cue to look the user up and link it), decided
  // under the user's lock, so that of two POSTs of one new user at once, one creates and the other is refused.
  try {
    const { user } = await write(() => putUser(id, record, ctx, { createOnly: true }));
    return toScimUser(user, baseUrl);
  } catch (err) {
    if (err instanceof ConflictError && err.errors?.some((e) => e.path === 'externalId')) throw uniqueness(`A user with id ${id} already exists.`);
    throw err;
  }
}

export async function getScimUser(id: string, baseUrl: string): Promise<ScimObject> {
  return toScimUser(await readUser(id), baseUrl);
}

/** Field values after a write that carried `fields`: every stored key not named is removed (null). */
function replacedFields(current: UserView['fields'], next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...next };
  for (const key of Object.keys(current)) if (!(key in next)) out[key] = null;
  return out;
}

export async function replaceScimUser(id: string, body: unknown, ifMatch: string | undefined, ctx: WriteContext, baseUrl: string): Promise<ScimObject> {
  if (!isObject(body)) throw invalidValue('A User is a JSON object.');
  const current = await readUser(id);
  checkIfMatch(ifMatch, String((toScimUser(current, baseUrl).meta as ScimObject).version));
  const externalId = getCI(body, 'externalId');
  if (externalId !== undefined && externalId !== null && externalId !== id) throw mutability(`externalId is the user's id (${id}) and cannot be changed.`);
  const defs = await loadFieldDefinitions();
  const input = fromScimUser(body, defs);
  if (input.email === undefined) throw invalidValue('userName is required: the user\'s email address.');
  // What the directory requires and a replace leaves out keeps its value; extensions left out keep their fields.
  const patch: Record<string, unknown> = {
    email: input.email,
    ...(input.firstName !== undefined ? { firstName: input.firstName } : {}),
    ...(input.lastName !== undefined ? { lastName: input.lastName } : {}),
    ...(input.type !== undefined ? { type: input.type } : {}),
    ...(input.status !== undefined ? { status: input.status } : {}),
  };
  if (input.carried.fields) patch.fields = replacedFields(current.fields, input.fields ?? {});
  else if (input.carried.enterprise) {
    const fields: Record<string, unknown> = { ...input.fields };
    for (const key of ENTERPRISE_ATTRIBUTES) {
      if (defs.has(key) && !(key in fields) && current.fields[key] !== undefined) fields[key] = null;
    }
    patch.fields = fields;
  }
  return toScimUser(await write(() => patchUser(id, patch, ctx)), baseUrl);
}

export async function patchScimUser(id: string, body: unknown, ifMatch: string | undefined, ctx: WriteContext, baseUrl: string): Promise<ScimObject> {
  const operations = readPatchBody(body);
  const current = await readUser(id);
  const before = toScimUser(current, baseUrl);
  checkIfMatch(ifMatch, String((before.meta as ScimObject).version));
  const after = applyPatch(before, operations, USER_PATCH_TARGET);
  if (getCI(after, 'externalId') !== id && getCI(after, 'externalId') !== undefined) throw mutability(`externalId is the user's id (${id}) and cannot be changed.`);

  // The enterprise extension and ours may both show a field (department): whichever the patch changed wins.
  const entBefore = (getCI(before, URN.enterprise) ?? {}) as ScimObject;
  const entAfter = getCI(after, URN.enterprise);
  const ours = { ...((getCI(after, URN.fields) ?? {}) as ScimObject) };
  const defs = await loadFieldDefinitions();
  for (const key of ENTERPRISE_ATTRIBUTES) {
    if (!defs.has(key)) continue;
    const was = getCI(entBefore, key);
    const now = isObject(entAfter) ? getCI(entAfter, key) : undefined;
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    const value = key === 'manager' && isObject(now) ? getCI(now, 'value') : now;
    if (value === undefined || value === null || value === '') delete ours[key];
    else ours[key] = value;
  }
  const emailsBefore = JSON.stringify(getCI(before, 'emails'));
  const emails = getCI(after, 'emails');
  if (getCI(after, 'userName') === current.email && JSON.stringify(emails) !== emailsBefore && Array.isArray(emails)) {
    // The email changed through `emails` (Entra's `emails[type eq "work"].value`): userName follows it.
    // The new address is one that is not the current one: primary first, then work, then any (an `add` to
    // `emails` keeps the old element beside the new one).
    const fresh = emails.filter((e) => isObject(e) && typeof getCI(e, 'value') === 'string' && String(getCI(e, 'value')).toLowerCase() !== current.email.toLowerCase());
    const el = fresh.find((e) => looseTrue(getCI(e as ScimObject, 'primary'))) ?? fresh.find((e) => String(getCI(e as ScimObject, 'type')).toLowerCase() === 'work') ?? fresh[0];
    const value = isObject(el) ? getCI(el, 'value') : undefined;
    if (typeof value === 'string') after.userName = value;
  }
  const input = fromScimUser({ ...after, [URN.enterprise]: undefined, [URN.fields]: ours }, defs);
  const nameAfter = getCI(after, 'name');
  const patch: Record<string, unknown> = {
    // A removed required attribute is sent as null, which the directory refuses naming it.
    email: input.email ?? null,
    firstName: isObject(nameAfter) && getCI(nameAfter, 'givenName') === undefined ? null : (input.firstName ?? null),
    lastName: isObject(nameAfter) && getCI(nameAfter, 'familyName') === undefined ? null : (input.lastName ?? null),
    ...(input.type !== undefined ? { type: input.type } : {}),
    ...(input.status !== undefined ? { status: input.status } : {}),
    fields: replacedFields(current.fields, input.fields ?? {}),
  };
  return toScimUser(await write(() => patchUser(id, patch, ctx)), baseUrl);
}

export async function deleteScimUser(id: string, ifMatch: string | undefined, ctx: WriteContext, baseUrl: string): Promise<void> {
  if (ifMatch !== undefined) checkIfMatch(ifMatch, String((toScimUser(await readUser(id), baseUrl).meta as ScimObject).version));
  await write(() => deleteUser(id, ctx));
}

/** GET /Users: the filter evaluated by the database where it can (user-query.ts), sorted, paged. */
export async function listScimUsers(params: ListParams, baseUrl: string): Promise<ListResult> {
  const defs = await loadFieldDefinitions();
  const filter = params.filter !== undefined ? parseFilter(params.filter) : undefined;
  const compiled = filter ? compileUserFilter(filter, defs) : { query: {}, exact: true };
  const sortField = params.sortBy !== undefined ? sortFieldOf(params.sortBy, defs) : '_id';
  if (params.sortBy !== undefined && !sortField && !resolvePath(params.sortBy, userSchemaDefs(defs), URN.user).def) throw invalidValue(`sortBy names no attribute of User: ${params.sortBy}.`);
  const descending = params.sortOrder === 'descending';
  const collection = usersCollection();

  if (compiled.exact && sortField) {
    // Ids and the sort key only; then the page's users by id, the lookup the embedded database serves by index.
    const keys = await collection.find(compiled.query, { projection: { _id: 1, [sortField]: 1 } }).toArray();
    const sorted = sortBy(keys as unknown as Document[], (d) => valueAt(d, sortField), descending);
    const page = sorted.slice(params.startIndex - 1, params.startIndex - 1 + params.count);
    const byId = await db().readByIds(collection, page.map((d) => String(d._id)), { projection: WITHOUT_ENROLLMENTS.projection });
    const users = page.map((d) => byId.get(String(d._id))).filter((u): u is UserDoc => u !== undefined);
    return { total: sorted.length, resources: users.map((u) => toScimUser(userView(u), baseUrl)) };
  }
  // The database narrowed what it could; the rest of the filter (and an order by a derived attribute) in memory.
  const docs = await collection.find(compiled.query, WITHOUT_ENROLLMENTS).toArray();
  let resources = docs.map((d) => toScimUser(userView(d), baseUrl));
  if (filter && !compiled.exact) resources = resources.filter((r) => matches(r, filter, { extensionUrns: [URN.enterprise, URN.fields], coreUrn: URN.user, caseExact: (p) => ['id', 'externalid'].includes(p.toLowerCase()) }));
  const byId = new Map(docs.map((d) => [d._id, d as unknown as Document]));
  resources = sortBy(resources, (r) => (sortField ? valueAt(byId.get(String(r.id)), sortField) : firstValue(r, params.sortBy ?? 'id')), descending);
  return { total: resources.length, resources: resources.slice(params.startIndex - 1, params.startIndex - 1 + params.count) };
}

const looseTrue = (v: unknown): boolean => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');

function valueAt(doc: Document | undefined, path: string): unknown {
  let node: unknown = doc;
  for (const part of path.split('.')) node = node !== null && typeof node === 'object' ? (node as Document)[part] : undefined;
  return node;
}

function firstValue(resource: ScimObject, path: string): unknown {
  let node: unknown = resource;
  for (const part of path.split('.')) {
    if (Array.isArray(node)) node = node[0];
    node = isObject(node) ? getCI(node, part) : undefined;
  }
  return isObject(node) ? node.value : node;
}

/** RFC 7644 §3.4.2.3: strings ignoring case, absent values last whatever the order. */
function sortBy<T>(rows: T[], key: (row: T) => unknown, descending: boolean): T[] {
  const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v instanceof Date ? v.getTime() : v);
  return rows
    .map((row) => ({ row, k: norm(key(row)) }))
    .sort((a, b) => {
      if (a.k === undefined || a.k === null) return b.k === undefined || b.k === null ? 0 : 1;
      if (b.k === undefined || b.k === null) return -1;
      const c = (a.k as string | number) < (b.k as string | number) ? -1 : (a.k as string | number) > (b.k as string | number) ? 1 : 0;
      return descending ? -c : c;
    })
    .map((x) => x.row);
}
