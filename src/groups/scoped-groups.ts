// Groups scoped to a course (`scope` = the course code): the groups a course's class group sync keeps
// (src/class-sync). They are made here, beside the other group writers, and only by that sync: a hand-made group
// is always global. Names are unique within the scope (the unique index on { scope, nameLower }), so two syncs
// creating the same group at once end with one.
import { randomBytes } from 'node:crypto';
import { isDuplicateKeyError } from '../platform/db/index.js';
import { ForbiddenError } from '../platform/errors.js';
import type { Principal } from '../platform/principal.js';
import { setCount } from '../membership/group-state.js';
import { GroupModel, type GroupDoc } from './group.model.js';

/** Whether the group is one a course keeps (protected: only an admin deletes it). */
export const isScopedGroup = (doc: Pick<GroupDoc, 'scope'>): boolean => Boolean(doc.scope);

/** DELETE of a course's class group: admins only (any other role would see it come back, or lose it by mistake). */
export function checkScopedDelete(doc: Pick<GroupDoc, 'scope' | 'name'>, principal: Principal | undefined): void {
  if (isScopedGroup(doc) && principal?.role !== 'admin') {
    throw new ForbiddenError(
      `Group ${JSON.stringify(doc.name)} is kept by the class group sync of course ${doc.scope}: only an admin can remove it ` +
        `(or turn the sync off with PUT /api/v1/courses/${doc.scope}/class-sync {"enabled": false} and leave the group be).`,
    );
  }
}

export async function readScopedGroups(scope: string): Promise<GroupDoc[]> {
  return GroupModel.find({ scope }).sort({ _id: 1 }).lean<GroupDoc[]>();
}

/**
 * The course's groups with these names, creating those missing. Each new group is a hand-managed group (type
 * `manual`: no rule moves it) whose hand-added members follow `keep-staff`: staff stay, learners leave at the
 * next sync. Returns every group of the scope, and how many this call made.
 */
export async function ensureScopedGroups(
  scope: string,
  names: Iterable<string>,
  describe: (name: string) => string,
  actor: string,
): Promise<{ groups: GroupDoc[]; created: number }> {
  const existing = await readScopedGroups(scope);
  const have = new Set(existing.map((g) => g.nameLower));
  const missing = [...new Set(names)].filter((n) => !have.has(n.toLowerCase()));
  if (missing.length === 0) return { groups: existing, created: 0 };
  const now = new Date();
  let created = 0;
  for (const name of missing) {
    if (have.has(name.toLowerCase())) continue;
    have.add(name.toLowerCase());
    const doc: GroupDoc = {
      _id: `grp_${randomBytes(8).toString('hex')}`,
      name,
      nameLower: name.toLowerCase(),
      scope,
      description: describe(name),
      type: 'manual',
      ruleVersion: 0,
      manualMembers: 'keep-staff',
      includeInactive: false,
      paused: false,
      courses: [],
      createdBy: actor,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await GroupModel.collection.insertOne(doc as never);
      await setCount(doc._id, 0);
      created++;
    } catch (err) {
      // Another sync of the course made it first: theirs is the group.
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
  return { groups: await readScopedGroups(scope), created };
}
