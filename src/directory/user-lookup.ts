// Reads that put names to externalIds: the name and email shown next to a user wherever a list names one
// (members, exclusions, history, preview samples, explain), and the search people use to find a user by a
// piece of their name, email or id. Reads only.
import { readUsersByIds, usersCollection } from './user-store.js';
import { WITHOUT_ENROLLMENTS, userView, type UserView } from './users.service.js';

/** Who an externalId is, as a person reads it. */
export interface UserSummary {
  externalId: string;
  email: string;
  firstName: string;
  lastName: string;
}

const SUMMARY_PROJECTION = { _id: 1, email: 1, firstName: 1, lastName: 1 };

/** The summaries of the stored users among `ids` (a deleted user has none). */
export async function userSummaries(ids: readonly string[]): Promise<Map<string, UserSummary>> {
  const unique = [...new Set(ids)];
  if (!unique.length) return new Map();
  const { byId } = await readUsersByIds(unique, SUMMARY_PROJECTION);
  const out = new Map<string, UserSummary>();
  for (const [id, u] of byId) out.set(id, { externalId: id, email: u.email, firstName: u.firstName, lastName: u.lastName });
  return out;
}

/** Each item with `user` (its summary) added, when the user still exists. */
export async function withUsers<T extends { externalId: string }>(items: T[]): Promise<Array<T & { user?: UserSummary }>> {
  const summaries = await userSummaries(items.map((i) => i.externalId));
  return items.map((i) => {
    const user = summaries.get(i.externalId);
    return user ? { ...i, user } : i;
  });
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The users whose externalId, email, first name, last name or "first last" contains `text` (case-insensitive),
 * ordered by last name, first name and externalId; at most `limit`. A scan of the users: a person's search, not a
 * feed's.
 */
export async function searchUsers(text: string, limit: number): Promise<UserSummary[]> {
  const words = text.trim().split(/\s+/).filter(Boolean).slice(0, 5);
  if (!words.length) return [];
  // Every word must be found in one of the fields: "ana silva" finds Ana Silva, "silva@" her email.
  const filter = {
    $and: words.map((w) => {
      const re = { $regex: escapeRegex(w), $options: 'i' };
      return { $or: [{ _id: re }, { email: re }, { firstName: re }, { lastName: re }] };
    }),
  };
  const docs = await usersCollection()
    .find(filter as never, { projection: SUMMARY_PROJECTION })
    .sort({ lastName: 1, firstName: 1, _id: 1 })
    .limit(limit)
    .toArray();
  return docs.map((u) => ({ externalId: u._id, email: u.email, firstName: u.firstName, lastName: u.lastName }));
}

/** searchUsers' users as GET /users shows a user. */
export async function searchUserViews(text: string, limit: number): Promise<UserView[]> {
  const found = await searchUsers(text, limit);
  const { byId } = await readUsersByIds(found.map((u) => u.externalId), WITHOUT_ENROLLMENTS.projection);
  return found.flatMap((u) => (byId.has(u.externalId) ? [userView(byId.get(u.externalId)!)] : []));
}

/** The order people read a list of users in: last name, first name, then externalId (as one comparable string). */
export function nameSortKey(u: UserSummary | undefined, id: string): string {
  return `${(u?.lastName ?? '').toLowerCase()}\u0000${(u?.firstName ?? '').toLowerCase()}\u0000${id}`;
}

/** A preview with the sampled users' names (`sampleAddUsers`, `sampleRemoveUsers`) beside their externalIds. */
export async function withSampleUsers<P extends { sampleAdd: string[]; sampleRemove: string[] }>(preview: P) {
  const users = await userSummaries([...preview.sampleAdd, ...preview.sampleRemove]);
  const named = (ids: string[]) => ids.flatMap((id) => (users.has(id) ? [users.get(id)!] : []));
  return { ...preview, sampleAddUsers: named(preview.sampleAdd), sampleRemoveUsers: named(preview.sampleRemove) };
}
