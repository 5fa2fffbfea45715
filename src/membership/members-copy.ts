// POST /groups/{id}/members/copy: the users of another group, or of a branch, join this group with source copy, under
// the checks of a member added by hand (members-bulk.ts). A branch's users are those GET /users?branch= lists (the
// same top-level equality on `branch`, which an index serves on both databases). Up to the copy threshold the copy
// is done in the request; a larger one is a job (members-copy.job.ts) that reports progress. A re-run of the job
// writes the same documents (its run key and instant are fixed), and history has one entry per real addition.
import type { Collection } from 'mongodb';
import type { Metrics } from '../platform/metrics.js';
import { UnprocessableContentError } from '../platform/errors.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import { usersCollection } from '../directory/user-store.js';
import { memberships } from './membership-store.js';
import { addUsersToGroup, BULK_CHUNK, emptyOutcome, type BulkAddContext } from './members-bulk.js';

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
 * The externalIds of the source's users, reading at most `max + 1` of them when `max` is given (so that the caller
 * learns the copy is larger than `max` without reading it all).
 */
export async function copySourceIds(source: CopySource, max?: number): Promise<{ ids: string[]; more: boolean }> {
  const cursor =
    source.fromGroup !== undefined
      ? memberships().find({ group: source.fromGroup }, { projection: { _id: 0, externalId: 1 } }).map((m) => m.externalId)
      : (usersCollection() as unknown as Collection<{ _id: string }>).find({ branch: source.fromBranch }, { projection: { _id: 1 } }).map((u) => u._id);
  const ids: string[] = [];
  try {
    for await (const id of cursor) {
      if (max !== undefined && ids.length === max) return { ids, more: true };
      ids.push(id);
    }
  } finally {
    await cursor.close();
  }
  return { ids, more: false };
}

/** Copies the users into the group, a chunk at a time, reporting `progress(done, total)` after each chunk. */
export async function copyUsers(
  group: GroupDoc,
  ids: readonly string[],
  ctx: BulkAddContext,
  progress?: (done: number, total: number) => Promise<void>,
): Promise<CopyResult> {
  const outcome = emptyOutcome();
  for (let i = 0; i < ids.length; i += BULK_CHUNK) {
    await addUsersToGroup(group, ids.slice(i, i + BULK_CHUNK), ctx, outcome);
    await progress?.(Math.min(i + BULK_CHUNK, ids.length), ids.length);
  }
  return { added: outcome.added.size, unchanged: outcome.unchanged.size, excluded: outcome.excluded.size, inactive: outcome.inactive.size };
}

export function copyReason(source: CopySource): string {
  return source.fromGroup !== undefined ? `copied from group ${source.fromGroup}` : `copied from branch ${source.fromBranch}`;
}

export function copyContext(source: CopySource, actor: string, runKey: string, at: Date, metrics?: Metrics): BulkAddContext {
  return { source: 'copy', reason: copyReason(source), actor, runKey, at, ...(metrics ? { metrics } : {}) };
}
