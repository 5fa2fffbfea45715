// Low-level access to the users collection shared by the directory services: the driver's collection (the
// services build exact documents and `$set`/`$unset` paths themselves, with explicit timestamps), and the
// recognition of unique-index clashes, which the two backends report differently.
import type { Collection } from 'mongodb';
import { UserModel, type UserDoc } from './user.model.js';

export function usersCollection(): Collection<UserDoc> {
  return UserModel.collection as unknown as Collection<UserDoc>;
}

/**
 * A unique-index violation. MongoDB answers code 11000 (with the key in the message); FerretDB v1 answers 11000
 * for inserts (without naming the key) but, for updates, a generic error whose message says
 * "UNIQUE constraint failed: index '<collection>_<hash>_emailLower_1'".
 */
export function isDuplicateKeyError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : '';
  return e?.code === 11000 || message.includes('E11000') || message.includes('UNIQUE constraint failed');
}

/** Which users hold these lower-cased emails: emailLower → externalId. One query, whatever the number. */
export async function findEmailHolders(emailLowers: readonly string[]): Promise<Map<string, string>> {
  const holders = new Map<string, string>();
  if (emailLowers.length === 0) return holders;
  const docs = await usersCollection()
    .find({ emailLower: emailLowers.length === 1 ? emailLowers[0]! : { $in: [...emailLowers] } }, { projection: { _id: 1, emailLower: 1 } })
    .toArray();
  for (const d of docs) holders.set(d.emailLower, d._id);
  return holders;
}
