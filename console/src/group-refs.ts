// The groups a rule can name, by name: what the builder's group search looks through and how a "member of"
// condition, explain and the group page name a group instead of showing its id. The groups list has no name filter
// (GET /groups takes type, priced, course), so the search reads the list, a page of up to 1,000 at a time, and
// matches names here.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { enc, get, type ApiError } from './api.js';
import { toApiError } from './ui.js';
import type { Group, GroupRef, Page } from './types.js';

/** Pages read at most: 20,000 groups, far more than a directory holds, and a bound on a runaway cursor. */
const MAX_PAGES = 20;

/** A group's kind as people say it: a class group is a manual group scoped to a course. */
export const groupKind = (g: Pick<Group, 'type' | 'course'>): string => (g.course ? `class group of ${g.course}` : g.type);

export async function listGroupRefs(): Promise<GroupRef[]> {
  const out: GroupRef[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: Page<Group> = await get<Page<Group>>(`/groups?limit=1000${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    out.push(...page.items.map((g) => ({ id: g.id, name: g.name, type: groupKind(g) })));
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return out;
}

/**
 * The groups, read once `wanted` (a rule that names groups: their names are shown) and again on `reload` (the
 * search calls it when a person starts typing, so a group created since shows). Undefined until the first answer;
 * a failed read keeps the last list and says why in `error`. A rule that names no group reads nothing.
 */
export function useGroupRefs(wanted: boolean): { groups: GroupRef[] | undefined; error: ApiError | undefined; reload(): void } {
  const [groups, setGroups] = useState<GroupRef[]>();
  const [error, setError] = useState<ApiError>();
  const [tick, setTick] = useState(0);
  const active = wanted || tick > 0;
  useEffect(() => {
    if (!active) return;
    let live = true;
    listGroupRefs().then(
      (list) => {
        if (!live) return;
        setGroups(list);
        setError(undefined);
      },
      (err: unknown) => live && setError(toApiError(err)),
    );
    return () => {
      live = false;
    };
  }, [tick, active]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { groups, error, reload };
}

/** A group's name from the list, or, while the list loads or for a group that is not in it, words that say so. */
export function groupName(groups: GroupRef[] | undefined, id: string | undefined): string {
  if (!id) return 'a group';
  const g = groups?.find((x) => x.id === id);
  if (g) return `“${g.name}”`;
  return groups ? `an unknown group (${id})` : 'a group';
}
