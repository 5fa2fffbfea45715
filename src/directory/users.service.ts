// Users one at a time: create/replace, merge, read, list, delete. Every write reads the user by _id under its
// lock, diffs in memory and writes only the changed paths; a write that changes nothing writes and announces
// nothing. Email uniqueness rests on the unique index on emailLower: the write is tried, and a clash is turned
// into a 409 naming the user who holds the address.
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../platform/errors.js';
import { pageQuery, toPage, type Page, type PageRequest } from '../platform/pagination.js';
import type { UserDoc } from './user.model.js';
import { checkUserPatch, checkUserReplace, type UserRecord } from './user.schema.js';
import { fieldValueFromText, fieldValueProblem } from './user-values.js';
import { diffUser, newUserDocument, patchedRecord, recordOf, updateOperators } from './user-diff.js';
import { loadFieldDefinitions } from './field-definitions.service.js';
import { userLock } from './lock-keys.js';
import { isDuplicateKeyError, withLocks } from '../platform/db/index.js';
import { findEmailHolders, usersCollection } from './user-store.js';
import { announce, type WriteContext } from './directory-events.js';
import { writeAhead, type JournaledIntent } from './reaction-journal.js';
import type { DirectoryChange } from './directory-events.js';

export interface UserView {
  externalId: string;
  email: string;
  firstName: string;
  lastName: string;
  type: 'learner' | 'staff';
  status: 'active' | 'inactive';
  branch?: string;
  fields: Record<string, string | number | boolean>;
  createdAt: string;
  updatedAt: string;
}

/** Reads never need the enrolments; leaving them out keeps user reads small. */
export const WITHOUT_ENROLLMENTS = { projection: { enrollments: 0 } } as const;

export function userView(doc: UserDoc): UserView {
  return {
    externalId: doc._id,
    ...recordOf(doc),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

function invalid(errors: FieldError[]): ValidationError {
  return new ValidationError(`The request has ${errors.length} invalid field${errors.length > 1 ? 's' : ''}.`, errors);
}

/** The 409 for an email another user holds (or, in a race, a user created by someone else at the same moment). */
export async function clashError(externalId: string, email: string): Promise<ConflictError> {
  const holder = (await findEmailHolders([email.toLowerCase()])).get(email.toLowerCase());
  if (holder && holder !== externalId) {
    return new ConflictError(`The email ${email} is already used by user ${holder}.`, [{ path: 'email', message: `is already used by user ${holder}` }], {
      externalId: holder,
    });
  }
  return new ConflictError(`User ${externalId} was written by another request at the same moment; retry.`);
}

async function readUser(externalId: string): Promise<UserDoc | null> {
  return usersCollection().findOne({ _id: externalId }, WITHOUT_ENROLLMENTS);
}

/** Stores `record` as the user's new state; the change, or undefined when nothing changed. */
// Each write is journaled before it is made (writeAhead): cut off between the write and its reaction, the user
// still gets their membership from the replay, though a retry of the request finds nothing to change.
async function store(
  externalId: string,
  existing: UserDoc | null,
  record: UserRecord,
  ctx: WriteContext,
): Promise<{ doc: UserDoc; change?: DirectoryChange; intent?: JournaledIntent | undefined }> {
  const now = new Date();
  if (!existing) {
    const doc = newUserDocument(externalId, record, now);
    const change: DirectoryChange = { kind: 'user.created', externalId, changed: [], actor: ctx.actor };
    try {
      const { intent } = await writeAhead([change], () => usersCollection().insertOne(doc), isDuplicateKeyError);
      return { doc, change, intent };
    } catch (err) {
      if (isDuplicateKeyError(err)) throw await clashError(externalId, record.email);
      throw err;
    }
  }
  const diff = diffUser(existing, record);
  if (diff.changed.length === 0) return { doc: existing };
  const change: DirectoryChange = { kind: 'user.changed', externalId, changed: diff.changed, actor: ctx.actor };
  let intent: JournaledIntent | undefined;
  try {
    ({ intent } = await writeAhead([change], () => usersCollection().updateOne({ _id: externalId }, updateOperators(diff, now)), isDuplicateKeyError));
  } catch (err) {
    if (isDuplicateKeyError(err)) throw await clashError(externalId, record.email);
    throw err;
  }
  const doc: UserDoc = { ...existing, ...recordAsDoc(record), updatedAt: now };
  return { doc, change, intent };
}

function recordAsDoc(record: UserRecord): Partial<UserDoc> {
  const { branch, ...rest } = record;
  return { ...rest, emailLower: record.email.toLowerCase(), branch };
}

/** PUT: creates or replaces the user. The body is checked here, against the field definitions too. */
export async function putUser(externalId: string, body: unknown, ctx: WriteContext): Promise<{ user: UserView; created: boolean }> {
  const { input, record, errors } = checkUserReplace(body, await loadFieldDefinitions());
  if (input?.externalId !== undefined && input.externalId !== externalId) {
    errors.push({ path: 'externalId', message: `must match the path (${externalId}) or be left out` });
  }
  if (!record || errors.length) throw invalid(errors);
  // The reaction runs under the user's lock, as for every directory write (reactions to one user never overlap).
  const { doc, change } = await withLocks([userLock(externalId)], async () => {
    const stored = await store(externalId, await readUser(externalId), record, ctx);
    if (stored.change) await announce(ctx, [stored.change], stored.intent);
    return stored;
  });
  return { user: userView(doc), created: change?.kind === 'user.created' };
}

/** PATCH: changes only what the patch names; `null` clears `branch` or a field. */
export async function patchUser(externalId: string, body: unknown, ctx: WriteContext): Promise<UserView> {
  const { patch, fieldValues, errors } = checkUserPatch(body, await loadFieldDefinitions());
  if (patch?.externalId !== undefined && patch.externalId !== externalId) {
    errors.push({ path: 'externalId', message: `must match the path (${externalId}) or be left out` });
  }
  if (!patch || errors.length) throw invalid(errors);
  const { doc } = await withLocks([userLock(externalId)], async () => {
    const existing = await readUser(externalId);
    if (!existing) throw new NotFoundError(`No user with externalId ${externalId}.`);
    const stored = await store(externalId, existing, patchedRecord(existing, patch, fieldValues!), ctx);
    if (stored.change) await announce(ctx, [stored.change], stored.intent);
    return stored;
  });
  return userView(doc);
}

export async function getUser(externalId: string): Promise<UserView> {
  const doc = await readUser(externalId);
  if (!doc) throw new NotFoundError(`No user with externalId ${externalId}.`);
  return userView(doc);
}

export interface UserFilter {
  email?: string;
  branch?: string;
  /** `field.<key>` query parameters: key → the value as text. */
  fields: Record<string, string>;
}

export async function listUsers(filter: UserFilter, page: PageRequest): Promise<Page<UserView>> {
  const query: Record<string, unknown> = { ...pageQuery(page, '_id') };
  if (filter.email !== undefined) query.emailLower = filter.email.toLowerCase();
  if (filter.branch !== undefined) query.branch = filter.branch;
  const fieldKeys = Object.keys(filter.fields);
  if (fieldKeys.length) {
    const defs = await loadFieldDefinitions();
    const errors: FieldError[] = [];
    for (const key of fieldKeys) {
      const def = defs.get(key);
      if (!def) {
        errors.push({ path: `field.${key}`, message: 'is not a defined field' });
        continue;
      }
      const value = fieldValueFromText(def, filter.fields[key]!);
      // A select filter may name any text (it then matches nobody); the other types must convert.
      const problem = def.type === 'select' ? undefined : fieldValueProblem(def, value);
      if (problem) errors.push({ path: `field.${key}`, message: problem });
      else query[`fields.${key}`] = value;
    }
    if (errors.length) throw invalid(errors);
  }
  const docs = await usersCollection().find(query, WITHOUT_ENROLLMENTS).sort({ _id: 1 }).limit(page.limit + 1).toArray();
  return toPage(docs.map(userView), page.limit, (u) => u.externalId);
}

/** DELETE: the user and their enrolments go; membership removes them from every group. */
export async function deleteUser(externalId: string, ctx: WriteContext): Promise<void> {
  const change: DirectoryChange = { kind: 'user.deleted', externalId, changed: [], actor: ctx.actor };
  // Read first so that a delete of an unknown user journals nothing.
  const result = await withLocks([userLock(externalId)], async () => {
    if (!(await readUser(externalId))) throw new NotFoundError(`No user with externalId ${externalId}.`);
    const { result, intent } = await writeAhead([change], () => usersCollection().deleteOne({ _id: externalId }));
    // Deleted meanwhile by another process: announcing nothing drops the journal entry.
    await announce(ctx, result.deletedCount === 0 ? [] : [change], intent);
    return result;
  });
  if (result.deletedCount === 0) throw new NotFoundError(`No user with externalId ${externalId}.`);
}
