// Low-level access to the users collection shared by the directory services: the driver's collection (the
// services build exact documents and `$set`/`$unset` paths themselves, with explicit timestamps) and reads of many
// users at once, at the lowest cost the database adapter finds.
import type { Collection, Document } from 'mongodb';
import { UserModel, type UserDoc } from './user.model.js';
import { db } from '../platform/db/index.js';

export function usersCollection(): Collection<UserDoc> {
  return UserModel.collection as unknown as Collection<UserDoc>;
}

/** A version condition for a user read at `version` (users stored before versions have none to check). */
export const atVersion = (version: number): Record<string, number> => (version > 0 ? { version } : {});

interface UsersRead {
  byId: Map<string, UserDoc>;
  /** emailLower → externalId of every user, when the read scanned them all anyway (spares findEmailHolders). */
  emailHolders?: Map<string, string>;
}

function keepsEmail(projection: Document): boolean {
  const inclusive = Object.entries(projection).some(([k, v]) => k !== '_id' && v === 1);
  return inclusive ? projection.emailLower === 1 : projection.emailLower !== 0;
}

/** The stored users among `ids`, with `projection` (which must keep emailLower for emailHolders to be filled). */
export async function readUsersByIds(ids: readonly string[], projection: Document): Promise<UsersRead> {
  let emailHolders: Map<string, string> | undefined;
  const onScan = keepsEmail(projection)
    ? (doc: UserDoc) => {
        emailHolders ??= new Map();
        if (doc.emailLower !== undefined) emailHolders.set(doc.emailLower, doc._id);
      }
    : undefined;
  const byId = await db().readByIds(usersCollection(), ids, { projection, ...(onScan ? { onScan } : {}) });
  return { byId, ...(emailHolders ? { emailHolders } : {}) };
}

/** The stored users among `ids`, whole. */
export async function readUsers(ids: readonly string[]): Promise<Map<string, UserDoc>> {
  return db().readByIds(usersCollection(), ids);
}

/** Which users hold these lower-cased emails: emailLower → externalId. */
export async function findEmailHolders(emailLowers: readonly string[]): Promise<Map<string, string>> {
  const holders = new Map<string, string>();
  for (const d of await db().readWhereIn(usersCollection(), 'emailLower', emailLowers, { projection: { _id: 1, emailLower: 1 } })) {
    holders.set(d.emailLower, d._id);
  }
  return holders;
}
