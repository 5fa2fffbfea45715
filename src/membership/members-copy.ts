// POST /groups/{id}/members/copy: the users of another group, or of a branch, join this group with source copy, under
// the checks of a member added by hand (members-bulk.ts). A branch's users are those GET /users?branch= lists (the
// same top-level equality on `branch`, which an index serves on both databases). Up to the copy threshold the copy
// is done in the request; a larger one is a job (members-copy.job.ts) that reports progress. A re-run of the job
// writes the same documents (its run key and instant are fixed), and history has one entry per real addition.
import type { Collection, FindCursor } from 'mongodb';
import type { Metrics } from '../platform/metrics.js';
import { UnprocessableContentError } from '../platform/errors.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import { readUsersByIds, usersCollection } from '../directory/user-store.js';
import { memberships } from './membership-store.js';
import { addAllToGroup, type BulkAddContext, type UserStatus } from './members-bulk.js';

export type CopySource = { fromGroup: string; fromBranch?: undefined } | { fromBranch: string; fromGroup?: undefined };

export interface CopyResult {
  added: number;
  unchanged: number;
  /** Users of the source who are excluded from this group: not added. */
  excluded: number;
  /** Inactive users of the source, not added to an automatic group that leaves inactive users out. */
  inactive: number;
}

/** The source group must exist: a 422 naming `fromGroup` (the body names something that is not there). */
export async function checkCopySource(source: CopySource): Promise<void> {
  if (source.fromGroup === undefined) return;
  if (!(await GroupModel.exists({ _id: source.fromGroup }))) {
    throw new UnprocessableContentError(`No group has the id ${source.fromGroup}.`, [{ path: 'fromGroup', message: `no group has the id ${source.fromGroup}` }]);
  }
}

/**
 * The source's users (externalId and status), reading at most `max + 1` of them when `max` is given (so that the
 * caller learns the copy is larger than `max` without reading it all). A branch's users come with their status from
 * the one read; a group's members are read first, then their users in one read through the database adapter (a
 * member whose user is gone is no user to copy).
 */
export async function copySourceUsers(source: CopySource, max?: number): Promise<{ users: UserStatus[]; more: boolean }> {
  if (source.fromBranch !== undefined) {
    const cursor = (usersCollection() as unknown as Collection<UserStatus>).find({ branch: source.fromBranch }, { projection: { _id: 1, status: 1 }, batchSize: 2000 });
    const { items, more } = await readUpTo(cursor, max);
    return { users: items, more };
  }
  const cursor = memberships().find({ group: source.fromGroup }, { projection: { _id: 0, externalId: 1 }, batchSize: 2000 }).map((m) => m.externalId);
  const { items: ids, more } = await readUpTo(cursor, max);
  if (more) return { users: [], more };
  const { byId } = await readUsersByIds(ids, { _id: 1, status: 1 });
  return { users: ids.flatMap((id) => { const u = byId.get(id); return u ? [{ _id: u._id, status: u.status }] : []; }), more: false };
}

async function readUpTo<T>(cursor: FindCursor<T>, max: number | undefined): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  try {
    for await (const item of cursor) {
      if (max !== undefined && items.length === max) return { items, more: true };
      items.push(item);
    }
  } finally {
    await cursor.close();
  }
  return { items, more: false };
}

/** Copies the users into the group, a chunk at a time, reporting `progress(done, total)` after each chunk. */
export async function copyUsers(
  group: GroupDoc,
  users: readonly UserStatus[],
  ctx: BulkAddContext,
  progress?: (done: number, total: number) => Promise<void>,
): Promise<CopyResult> {
  const outcome = await addAllToGroup(group, users, ctx, progress);
  return { added: outcome.added.size, unchanged: outcome.unchanged.size, excluded: outcome.excluded.size, inactive: outcome.inactive.size };
}

export function copyReason(source: CopySource): string {
  return source.fromGroup !== undefined ? `copied from group ${source.fromGroup}` : `copied from branch ${source.fromBranch}`;
}

export function copyContext(source: CopySource, actor: string, runKey: string, at: Date, metrics?: Metrics): BulkAddContext {
  return { source: 'copy', reason: copyReason(source), actor, runKey, at, ...(metrics ? { metrics } : {}) };
}
