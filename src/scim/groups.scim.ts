// SCIM Groups over the service's groups. Every group can be read; manual groups can also be created, renamed,
// given and relieved of members, replaced and deleted, through the groups and members services (history names the
// SCIM client's key). Automatic groups (their rule decides) and class groups (their course's class sync decides)
// are read-only: a write is a 400 `mutability`. Member changes are applied one member at a time: Okta does not
// retry a 400, so one unknown user must not keep the others out; the answer names each member not applied.
import type { Collection } from 'mongodb';
import { createGroup, deleteGroup, requireGroup, updateGroup, type GroupView } from '../groups/groups.service.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import { createGroupSchema, type GroupInput } from '../groups/groups.schema.js';
import { addMember, removeMember, streamMembers } from '../membership/members.service.js';
import { readMemberCounts } from '../membership/group-state.js';
import { usersCollection } from '../directory/user-store.js';
import { db } from '../platform/db/index.js';
import { AppError, NotFoundError } from '../platform/errors.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { parseFilter, type Filter } from './filter.js';
import { matches } from './filter-eval.js';
import { readPatchBody, parsePatchPath } from './patch.js';
import { checkIfMatch, getCI, isObject, versionOf, type ScimObject } from './resource-shape.js';
import { invalidPath, invalidValue, mutability, notFound, ScimError, uniqueness } from './scim-error.js';
import { userLocation } from './user-mapping.js';
import type { ListParams, ListResult } from './list-params.js';
import { URN } from './urns.js';

interface GroupHead {
  _id: string;
  name: string;
  type: GroupDoc['type'];
  scope: string;
  createdAt: Date;
  updatedAt: Date;
}

function groupLocation(baseUrl: string, id: string): string {
  return `${baseUrl}/Groups/${encodeURIComponent(id)}`;
}

/** The resource; its version covers the name and the member count (a member change moves the count). */
function toScimGroup(g: GroupHead, memberCount: number, members: string[] | undefined, baseUrl: string): ScimObject {
  const resource: ScimObject = {
    schemas: [URN.group],
    id: g._id,
    displayName: g.name,
    ...(members ? { members: members.map((m) => ({ value: m, $ref: userLocation(baseUrl, m), type: 'User' })) } : {}),
  };
  const version = versionOf({ id: g._id, displayName: g.name, updatedAt: g.updatedAt.toISOString(), memberCount });
  resource.meta = { resourceType: 'Group', created: g.createdAt.toISOString(), lastModified: g.updatedAt.toISOString(), location: groupLocation(baseUrl, g._id), version };
  return resource;
}

async function membersOf(groupId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const m of streamMembers(groupId)) out.push(m.externalId);
  return out;
}

/** Why a group cannot be written over SCIM, or undefined for a manual group. */
function readOnlyReason(g: Pick<GroupDoc, '_id' | 'type' | 'scope' | 'name'>): string | undefined {
  if (g.type === 'automatic') return `Group ${g._id} (${g.name}) is an automatic group: its rule decides its members, so it is read-only over SCIM.`;
  if (g.scope) return `Group ${g._id} (${g.name}) is a class group of course ${g.scope}: its class group sync decides its members, so it is read-only over SCIM.`;
  return undefined;
}

async function readGroup(id: string): Promise<GroupDoc> {
  try {
    return await requireGroup(id);
  } catch (err) {
    if (err instanceof NotFoundError) throw notFound(`No group with id ${id}.`);
    throw err;
  }
}

async function writableGroup(id: string): Promise<GroupDoc> {
  const g = await readGroup(id);
  const reason = readOnlyReason(g);
  if (reason) throw mutability(reason);
  return g;
}

/** Whether an attribute path names `members` (or one of its sub-attributes), with or without the Group URN. */
const isMembers = (path: string): boolean => path.toLowerCase().replace(`${URN.group.toLowerCase()}:`, '').split(/[.[]/)[0] === 'members';

function filterReadsMembers(f: Filter): boolean {
  switch (f.op) {
    case 'and':
    case 'or':
      return filterReadsMembers(f.left) || filterReadsMembers(f.right);
    case 'not':
      return filterReadsMembers(f.filter);
    default:
      return isMembers(f.path);
  }
}

/** Members are read only when the answer shows them or the filter looks at them. */
const wantsMembers = (params: Pick<ListParams, 'attributes' | 'excludedAttributes'>, filter?: Filter): boolean => {
  const named = (list?: string[]) => list?.some(isMembers) ?? false;
  if (filter && filterReadsMembers(filter)) return true;
  if (params.attributes?.length) return named(params.attributes);
  return !named(params.excludedAttributes);
};

export async function getScimGroup(id: string, params: Pick<ListParams, 'attributes' | 'excludedAttributes'>, baseUrl: string): Promise<ScimObject> {
  const g = await readGroup(id);
  const count = (await readMemberCounts([id])).get(id) ?? 0;
  return toScimGroup(g, count, wantsMembers(params) ? await membersOf(id) : undefined, baseUrl);
}

/** Groups are few (hundreds): they are read whole and filtered in memory; members only when asked for. */
export async function listScimGroups(params: ListParams, baseUrl: string): Promise<ListResult> {
  const filter = params.filter !== undefined ? parseFilter(params.filter) : undefined;
  const heads = await (GroupModel.collection as unknown as Collection<GroupHead>)
    .find({}, { projection: { _id: 1, name: 1, type: 1, scope: 1, createdAt: 1, updatedAt: 1 } })
    .toArray();
  const counts = await readMemberCounts(heads.map((h) => h._id));
  const withMembers = wantsMembers(params, filter);
  let resources: ScimObject[] = [];
  for (const h of heads) resources.push(toScimGroup(h, counts.get(h._id) ?? 0, withMembers ? await membersOf(h._id) : undefined, baseUrl));
  if (filter) resources = resources.filter((r) => matches(r, filter, { caseExact: (p) => ['id', 'members.value'].includes(p.toLowerCase()), coreUrn: URN.group }));
  const key = (r: ScimObject) => String(params.sortBy?.toLowerCase() === 'displayname' ? r.displayName : r.id).toLowerCase();
  resources.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) * (params.sortOrder === 'descending' ? -1 : 1));
  return { total: resources.length, resources: resources.slice(params.startIndex - 1, params.startIndex - 1 + params.count) };
}

function displayNameOf(body: ScimObject): string {
  const name = getCI(body, 'displayName');
  if (typeof name !== 'string' || name.trim() === '' || name.trim().length > 200) throw invalidValue('displayName is required: 1-200 characters.');
  return name.trim();
}

/** The member ids of a `members` value: `[{ "value": "id" }, ...]` (a lone object or id is read as one). */
function memberIds(value: unknown, what: string): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.map((m, i) => {
    const id = isObject(m) ? getCI(m, 'value') : m;
    if (typeof id !== 'string' || id === '') throw invalidValue(`${what}[${i}].value must be a user's id.`);
    return id;
  });
}

/** Of these ids, the ones no user has. */
async function unknownUsers(ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = await db().readByIds(usersCollection(), [...new Set(ids)], { projection: { _id: 1 } });
  return [...new Set(ids)].filter((id) => !found.has(id));
}

function clash(err: unknown, name: string): never {
  if (err instanceof AppError && err.status === 409) throw uniqueness(`A group named ${name} already exists.`);
  throw err;
}

export async function createScimGroup(body: unknown, actor: string, scheduler: Scheduler, baseUrl: string): Promise<ScimObject> {
  if (!isObject(body)) throw invalidValue('A Group is a JSON object.');
  const name = displayNameOf(body);
  const members = memberIds(getCI(body, 'members'), 'members');
  const missing = await unknownUsers(members);
  if (missing.length) throw invalidValue(`members names users that do not exist: ${missing.join(', ')}. Nothing was created.`);
  const { value: input, error } = createGroupSchema.validate({ name, type: 'manual' });
  if (error) throw invalidValue(error.message);
  let group: GroupView;
  try {
    ({ group } = await createGroup(input as GroupInput, actor, scheduler));
  } catch (err) {
    clash(err, name);
  }
  const doc = await readGroup(group.id);
  for (const m of members) await addMember(doc, m, actor);
  return getScimGroup(group.id, {}, baseUrl);
}

interface MemberFailure {
  externalId: string;
  reason: string;
}

/** Each member's change on its own; what could not be applied is returned, named. */
async function applyMemberChanges(group: GroupDoc, add: readonly string[], remove: readonly string[], actor: string): Promise<MemberFailure[]> {
  const failures: MemberFailure[] = [];
  for (const id of remove) {
    try {
      await removeMember(group, id, actor);
    } catch (err) {
      // Removing someone who is not a member leaves the group as asked.
      if (err instanceof NotFoundError) continue;
      if (err instanceof AppError) failures.push({ externalId: id, reason: err.message });
      else throw err;
    }
  }
  for (const id of add) {
    try {
      await addMember(group, id, actor);
    } catch (err) {
      if (err instanceof AppError) failures.push({ externalId: id, reason: err instanceof NotFoundError ? `no user with id ${id}` : err.message });
      else throw err;
    }
  }
  return failures;
}

function partialFailure(failures: MemberFailure[], applied: number): ScimError {
  return invalidValue(
    `${applied} member change${applied === 1 ? ' was' : 's were'} applied; ${failures.length} could not be: ${failures.map((f) => `${f.externalId} (${f.reason})`).join('; ')}.`,
  );
}

async function rename(group: GroupDoc, name: string, actor: string, scheduler: Scheduler): Promise<void> {
  if (name === group.name) return;
  try {
    await updateGroup(group._id, { name }, actor, scheduler);
  } catch (err) {
    clash(err, name);
  }
}

export async function replaceScimGroup(id: string, body: unknown, ifMatch: string | undefined, actor: string, scheduler: Scheduler, baseUrl: string): Promise<ScimObject> {
  if (!isObject(body)) throw invalidValue('A Group is a JSON object.');
  const group = await writableGroup(id);
  checkIfMatch(ifMatch, String((toScimGroup(group, (await readMemberCounts([id])).get(id) ?? 0, undefined, baseUrl).meta as ScimObject).version));
  const name = displayNameOf(body);
  const wanted = new Set(memberIds(getCI(body, 'members'), 'members'));
  await rename(group, name, actor, scheduler);
  const current = new Set(await membersOf(id));
  const add = [...wanted].filter((m) => !current.has(m));
  const remove = [...current].filter((m) => !wanted.has(m));
  const failures = await applyMemberChanges(group, add, remove, actor);
  if (failures.length) throw partialFailure(failures, add.length + remove.length - failures.length);
  return getScimGroup(id, {}, baseUrl);
}

/**
 * PATCH: displayName, and members added, removed (by a list, or `members[value eq "id"]`) or replaced, in any
 * case and with or without a path. Answers nothing (204) when every change was applied.
 */
export async function patchScimGroup(id: string, body: unknown, ifMatch: string | undefined, actor: string, scheduler: Scheduler, baseUrl: string): Promise<void> {
  const operations = readPatchBody(body);
  const group = await writableGroup(id);
  checkIfMatch(ifMatch, String((toScimGroup(group, (await readMemberCounts([id])).get(id) ?? 0, undefined, baseUrl).meta as ScimObject).version));
  let name: string | undefined;
  // The members' net change, in the order the operations give it.
  const add = new Set<string>();
  const remove = new Set<string>();
  let replaceAll: Set<string> | undefined;
  const adding = (ids: string[]) => ids.forEach((m) => (remove.delete(m), add.add(m)));
  const removing = (ids: string[]) => ids.forEach((m) => (add.delete(m), remove.add(m)));

  const onAttribute = (op: 'add' | 'replace' | 'remove', attr: string, value: unknown, path: string) => {
    switch (attr.toLowerCase()) {
      case 'displayname':
        if (op === 'remove') throw mutability('displayName is required and cannot be removed.');
        name = displayNameOf({ displayName: value });
        return;
      case 'members':
        if (op === 'add') return adding(memberIds(value, 'members'));
        if (op === 'remove') {
          if (value === undefined) {
            replaceAll = new Set();
            add.clear();
            remove.clear();
            return;
          }
          return removing(memberIds(value, 'members'));
        }
        replaceAll = new Set(memberIds(value, 'members'));
        add.clear();
        remove.clear();
        return;
      case 'externalid':
        // Groups keep no externalId of the client's; Entra sends its own on create and patch.
        return;
      case 'id':
        // Okta's path-less replace repeats the group's id: the same id changes nothing.
        if (value === id && op !== 'remove') return;
        throw mutability('id cannot be changed.');
      case 'meta':
        throw mutability('meta cannot be changed.');
      default:
        throw invalidPath(`Group has no attribute ${path} that can be changed (displayName, members).`);
    }
  };

  for (const op of operations) {
    if (op.path === undefined) {
      if (!isObject(op.value)) throw invalidValue(`${op.op} without a path needs an object of attributes as its value.`);
      for (const [k, v] of Object.entries(op.value)) if (k.toLowerCase() !== 'schemas') onAttribute(op.op, k, v, k);
      continue;
    }
    const path = parsePatchPath(op.path, []);
    if (path.filter) {
      if (path.attr.toLowerCase() !== 'members' || op.op !== 'remove' || path.sub) throw invalidPath(`${op.path}: only remove takes a members[...] filter.`);
      const ids = memberIdsMatching(path.filter);
      removing(ids ?? (await membersOf(id)).filter((m) => matches({ value: m, type: 'User' }, path.filter!, { caseExact: () => true })));
      continue;
    }
    if (path.sub) throw invalidPath(`Group has no attribute ${op.path} that can be changed (displayName, members).`);
    onAttribute(op.op, path.attr, op.value, op.path);
  }

  if (name !== undefined) await rename(group, name, actor, scheduler);
  let toAdd = [...add];
  let toRemove = [...remove];
  if (replaceAll) {
    const current = new Set(await membersOf(id));
    const wanted = new Set([...replaceAll, ...add].filter((m) => !remove.has(m)));
    toAdd = [...wanted].filter((m) => !current.has(m));
    toRemove = [...current].filter((m) => !wanted.has(m));
  }
  const failures = await applyMemberChanges(group, toAdd, toRemove, actor);
  if (failures.length) throw partialFailure(failures, toAdd.length + toRemove.length - failures.length);
}

/** `value eq "id"` (or an `or` of them): the ids named, without reading the members. */
function memberIdsMatching(filter: Filter): string[] | undefined {
  if (filter.op === 'eq' && filter.path.toLowerCase() === 'value' && typeof filter.value === 'string') return [filter.value];
  if (filter.op === 'or') {
    const l = memberIdsMatching(filter.left);
    const r = memberIdsMatching(filter.right);
    return l && r ? [...l, ...r] : undefined;
  }
  return undefined;
}

export async function deleteScimGroup(id: string, ifMatch: string | undefined, baseUrl: string): Promise<void> {
  const group = await writableGroup(id);
  checkIfMatch(ifMatch, String((toScimGroup(group, (await readMemberCounts([id])).get(id) ?? 0, undefined, baseUrl).meta as ScimObject).version));
  try {
    await deleteGroup(id);
  } catch (err) {
    if (err instanceof NotFoundError) throw notFound(`No group with id ${id}.`);
    throw err;
  }
}

