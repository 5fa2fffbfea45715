// Users one at a time: create/replace, merge, read, list, delete. Every write reads the user by _id under its
// lock, diffs in memory and writes only the changed paths, as the next version the outbox claimed for it
// (user-writes.ts); a write that changes nothing writes nothing and claims no version. Email uniqueness rests on the unique index on emailLower: the write is tried, and a clash is turned
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
import { atVersion, findEmailHolders, usersCollection } from './user-store.js';
import { userRaced, writeUsers, type WriteContext } from './user-writes.js';
import type { PlannedChange, UserEventDoc } from './user-events.js';

/** A user as the API shows it. */
export interface UserView extends UserRecord {
  externalId: string;
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
async function clashError(externalId: string, email: string): Promise<ConflictError> {
  const holder = (await findEmailHolders([email.toLowerCase()])).get(email.toLowerCase());
  if (holder && holder !== externalId) {
    return new ConflictError(`The email ${email} is already used by user ${holder}.`, [{ path: 'email', message: `is already used by user ${holder}` }], {
      externalId: holder,
    });
  }
  return userRaced(externalId);
}

async function readUser(externalId: string): Promise<UserDoc | null> {
  return usersCollection().findOne({ _id: externalId }, WITHOUT_ENROLLMENTS);
}

/** Stores `record` as the user's new state, through the outbox (user-writes.ts); the stored doc and whether it changed. */
async function store(externalId: string, existing: UserDoc | null, record: UserRecord, ctx: WriteContext): Promise<{ doc: UserDoc; created: boolean }> {
  const now = new Date();
  const from = existing?.version ?? 0;
  const diff = existing ? diffUser(existing, record) : undefined;
  if (diff && diff.changed.length === 0) return { doc: existing!, created: false };
  const planned: PlannedChange = existing
    ? { user: externalId, kind: 'user.changed', changed: diff!.changed, from }
    : { user: externalId, kind: 'user.created', changed: [], from };
  try {
    const { result: doc } = await writeUsers(
      ctx,
      [planned],
      async (events) => {
        const version = claimedVersion(events, externalId);
        if (!existing) {
          const created = newUserDocument(externalId, record, now, version);
          await usersCollection().insertOne(created);
          return { result: created, stored: [externalId] };
        }
        const written = await usersCollection().updateOne({ _id: externalId, ...atVersion(from) }, updateOperators(diff!, now, version));
        if (written.matchedCount === 0) throw userRaced(externalId);
        return { result: { ...existing, ...recordAsDoc(record), version, updatedAt: now } as UserDoc, stored: [externalId] };
      },
      { nothingStored: (err) => isDuplicateKeyError(err) || err instanceof ConflictError },
    );
    return { doc, created: !existing };
  } catch (err) {
    if (isDuplicateKeyError(err)) throw await clashError(externalId, record.email);
    throw err;
  }
}

/** The version the outbox claimed for this user's write; a user it refused was written by someone else meanwhile. */
function claimedVersion(events: ReadonlyMap<string, UserEventDoc>, externalId: string): number {
  const event = events.get(externalId);
  if (!event) throw userRaced(externalId);
  return event.version;
}

function recordAsDoc(record: UserRecord): Partial<UserDoc> {
  const { branch, ...rest } = record;
  return { ...rest, emailLower: record.email.toLowerCase(), branch };
}

/** A conflict: the user exists, and the write was a create (createOnly). */
const userExists = (externalId: string): ConflictError =>
  new ConflictError(`A user with externalId ${externalId} already exists.`, [{ path: 'externalId', message: 'already exists' }], { externalId });

interface PutOptions {
  /** A create, not an upsert: a user that exists is a 409 (userExists), decided under the user's lock. */
  createOnly?: boolean;
}

/** PUT: creates or replaces the user. The body is checked here, against the field definitions too. */
export async function putUser(externalId: string, body: unknown, ctx: WriteContext, opts: PutOptions = {}): Promise<{ user: UserView; created: boolean }> {
  const { input, record, errors } = checkUserReplace(body, await loadFieldDefinitions());
  if (input?.externalId !== undefined && input.externalId !== externalId) {
    errors.push({ path: 'externalId', message: `must match the path (${externalId}) or be left out` });
  }
  if (!record || errors.length) throw invalid(errors);
  // The reaction runs under the user's lock, as for every directory write (reactions to one user never overlap).
  const { doc, created } = await withLocks([userLock(externalId)], async () => {
    const existing = await readUser(externalId);
    if (existing && opts.createOnly) throw userExists(externalId);
    return store(externalId, existing, record, ctx);
  });
  return { user: userView(doc), created };
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
    return store(externalId, existing, patchedRecord(existing, patch, fieldValues!), ctx);
  });
  return userView(doc);
}

export async function getUser(externalId: string): Promise<UserView> {
  const doc = await readUser(externalId);
  if (!doc) throw new NotFoundError(`No user with externalId ${externalId}.`);
  return userView(doc);
}

interface UserFilter {
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
  await withLocks([userLock(externalId)], async () => {
    // Read first so that a delete of an unknown user claims nothing.
    const existing = await readUser(externalId);
    if (!existing) throw new NotFoundError(`No user with externalId ${externalId}.`);
    const from = existing.version ?? 0;
    const { result: deleted } = await writeUsers(ctx, [{ user: externalId, kind: 'user.deleted', changed: [], from }], async () => {
      const result = await usersCollection().deleteOne({ _id: externalId, ...atVersion(from) });
      // Deleted (or rewritten) meanwhile by a writer outside the lease: nothing of this write was stored.
      return { result: result.deletedCount, stored: result.deletedCount ? [externalId] : [] };
    });
    if (deleted === 0) throw new NotFoundError(`No user with externalId ${externalId}.`);
  });
}
