// A group's members as a person looks for them: found by a piece of a name, email or id (`q`), or read in name
// order (`sort=name`). Reads only. The plain externalId-ordered pages stay in members.service.ts (listMembers),
// the path integrations page through; this one reads the matching users first, or the whole group when sorted by
// name, so it is meant for people, not feeds.
import { db } from '../platform/db/index.js';
import { encodeCursor, type Page, type PageRequest } from '../platform/pagination.js';
import { nameSortKey, searchUsers, userSummaries, type UserSummary } from '../directory/user-lookup.js';
import { membershipId, type MembershipDoc, type MembershipSource } from './membership.model.js';
import { memberships } from './membership-store.js';
import type { MemberView } from './members.service.js';

/** How many users a search of a group's members looks at, at most. */
const SEARCH_USERS = 1000;

export interface MemberSearch {
  source?: MembershipSource;
  q?: string;
  sort: 'externalId' | 'name';
}

export async function searchMembers(groupId: string, page: PageRequest, search: MemberSearch): Promise<Page<MemberView & { user?: UserSummary }>> {
  let docs: MembershipDoc[];
  let summaries: Map<string, UserSummary>;
  if (search.q) {
    const found = await searchUsers(search.q, SEARCH_USERS);
    summaries = new Map(found.map((u) => [u.externalId, u]));
    docs = [...(await db().readByIds(memberships(), found.map((u) => membershipId(groupId, u.externalId)))).values()];
  } else {
    docs = await db().groupPageRead(() => memberships().find({ group: groupId }, { projection: { externalId: 1, source: 1, addedAt: 1, group: 1 } }).toArray());
    summaries = search.sort === 'name' ? await userSummaries(docs.map((d) => d.externalId)) : new Map();
  }
  const keyOf = (d: MembershipDoc) => (search.sort === 'name' ? nameSortKey(summaries.get(d.externalId), d.externalId) : d.externalId);
  const rows = docs
    .filter((d) => d.group === groupId && (!search.source || d.source === search.source))
    .map((d) => ({ d, key: keyOf(d) }))
    .filter((r) => page.after === undefined || r.key > page.after)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const shown = rows.slice(0, page.limit);
  const items = shown.map(({ d }) => {
    const user = summaries.get(d.externalId);
    return { externalId: d.externalId, source: d.source, addedAt: d.addedAt.toISOString(), ...(user ? { user } : {}) };
  });
  const last = shown[shown.length - 1];
  return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.key) : null };
}
