// What a write changes in a stored user: the `$set`/`$unset` of exactly the changed paths, and those paths as
// the change event names them ('email', 'status', 'fields.department'). An empty diff means: write nothing.
import type { UserDoc } from './user.model.js';
import type { UserPatch, UserRecord } from './user.schema.js';
import type { FieldValue } from './user-values.js';

export interface UserDiff {
  set: Record<string, unknown>;
  unset: Record<string, ''>;
  /** Changed paths, in a stable order. */
  changed: string[];
}

const SCALARS = ['email', 'firstName', 'lastName', 'type', 'status', 'branch'] as const;

/** The stored user's attributes in the form a record has. */
export function recordOf(doc: UserDoc): UserRecord {
  return {
    email: doc.email,
    firstName: doc.firstName,
    lastName: doc.lastName,
    type: doc.type,
    status: doc.status,
    ...(doc.branch != null ? { branch: doc.branch } : {}),
    fields: { ...(doc.fields ?? {}) },
  };
}

export function diffUser(existing: UserDoc, next: UserRecord): UserDiff {
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  const changed: string[] = [];
  for (const key of SCALARS) {
    const before = existing[key] ?? undefined;
    const after = next[key];
    if (before === after) continue;
    changed.push(key);
    if (after === undefined) unset[key] = '';
    else set[key] = after;
  }
  if ('email' in set && next.email.toLowerCase() !== existing.emailLower) set.emailLower = next.email.toLowerCase();
  const beforeFields = existing.fields ?? {};
  const keys = [...new Set([...Object.keys(beforeFields), ...Object.keys(next.fields)])].sort();
  for (const key of keys) {
    const before = beforeFields[key];
    const after = next.fields[key];
    if (before === after) continue;
    const path = `fields.${key}`;
    changed.push(path);
    if (after === undefined) unset[path] = '';
    else set[path] = after;
  }
  return { set, unset, changed };
}

/** A PATCH applied to the stored user: the whole record it leaves. */
export function patchedRecord(existing: UserDoc, patch: UserPatch, fieldValues: Record<string, FieldValue | null>): UserRecord {
  const record = recordOf(existing);
  for (const key of ['email', 'firstName', 'lastName', 'type', 'status'] as const) {
    if (patch[key] !== undefined) (record as unknown as Record<string, unknown>)[key] = patch[key];
  }
  if (patch.branch === null) delete record.branch;
  else if (patch.branch !== undefined) record.branch = patch.branch;
  for (const [key, value] of Object.entries(fieldValues)) {
    if (value === null) delete record.fields[key];
    else record.fields[key] = value;
  }
  return record;
}

/** The document a new user is stored as, at the version its write claimed. */
export function newUserDocument(externalId: string, record: UserRecord, now: Date, version: number): UserDoc {
  return {
    _id: externalId,
    email: record.email,
    emailLower: record.email.toLowerCase(),
    firstName: record.firstName,
    lastName: record.lastName,
    type: record.type,
    status: record.status,
    ...(record.branch !== undefined ? { branch: record.branch } : {}),
    fields: record.fields,
    enrollments: {},
    version,
    createdAt: now,
    updatedAt: now,
  };
}

/** The update operators for a non-empty diff, with the user's updatedAt and the version its write claimed. */
export function updateOperators(diff: UserDiff, now: Date, version: number): Record<string, Record<string, unknown>> {
  const ops: Record<string, Record<string, unknown>> = { $set: { ...diff.set, updatedAt: now, version } };
  if (Object.keys(diff.unset).length) ops.$unset = diff.unset;
  return ops;
}
