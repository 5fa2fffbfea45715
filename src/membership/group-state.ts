// A group's sync state and member count: read for every group view, written by syncs and by directory changes.
// Writes to one group's documents take its lease first (withLocks), which excludes every other flow and process:
// FerretDB's updates, `$inc` included, are a read and a rewrite.
import { db, withLocks } from '../platform/db/index.js';
import { GroupCountsModel, GroupSyncModel, type GroupCountsDoc, type GroupSyncDoc } from './group-state.model.js';
import type { Collection } from 'mongodb';

const stateLock = (groupId: string) => `group-sync:${groupId}`;
const countLock = (groupId: string) => `group-counts:${groupId}`;

export interface GroupState {
  sync?: GroupSyncDoc;
  counts?: GroupCountsDoc;
}

export async function readGroupStates(groupIds: readonly string[]): Promise<Map<string, GroupState>> {
  const [syncs, counts] = await Promise.all([
    db().readByIds(GroupSyncModel.collection as unknown as Collection<GroupSyncDoc>, groupIds),
    db().readByIds(GroupCountsModel.collection as unknown as Collection<GroupCountsDoc>, groupIds),
  ]);
  const out = new Map<string, GroupState>();
  for (const id of groupIds) {
    const sync = syncs.get(id);
    const c = counts.get(id);
    out.set(id, { ...(sync ? { sync } : {}), ...(c ? { counts: c } : {}) });
  }
  return out;
}

/** The stored member counts of these groups (absent: never counted). Only the counts, where nothing else is needed. */
export async function readMemberCounts(groupIds: readonly string[]): Promise<Map<string, number>> {
  const counts = await db().readByIds(GroupCountsModel.collection as unknown as Collection<GroupCountsDoc>, groupIds);
  return new Map([...counts].map(([id, c]) => [id, c.memberCount]));
}

/**
 * What the safety valve weighs a change's removals against when the change does not read whole groups: each
 * group's stored member count, as both its members and its size.
 */
export async function storedValveSizes(groupIds: readonly string[]): Promise<Map<string, { members: number; size: number }>> {
  const counts = await readMemberCounts(groupIds);
  return new Map(groupIds.map((g) => {
    const members = counts.get(g) ?? 0;
    return [g, { members, size: members }];
  }));
}

async function setSync(groupId: string, set: Partial<GroupSyncDoc>, unset: Array<keyof GroupSyncDoc> = []): Promise<void> {
  await withLocks([stateLock(groupId)], () =>
    GroupSyncModel.collection.updateOne(
      { _id: groupId } as never,
      {
        $set: { ...set, updatedAt: new Date() },
        ...(unset.length ? { $unset: Object.fromEntries(unset.map((k) => [k, ''])) } : {}),
      },
      { upsert: true },
    ),
  );
}

/** A sync marked running and not touched for this long is taken for one that died (its job will be run again). */
const STALE_RUNNING_MS = 30 * 60_000;

/**
 * Whether some group's sync (a group sync, or a full sync's partitions) is running now: bulk membership work that
 * others should make room for (webhook deliveries wait between passes meanwhile). One read of the small state
 * collection.
 */
export async function syncsRunning(now = new Date()): Promise<boolean> {
  const running = await (GroupSyncModel.collection as unknown as Collection<GroupSyncDoc>).find({ state: 'running' }, { projection: { updatedAt: 1 } }).toArray();
  return running.some((s) => !s.updatedAt || now.getTime() - s.updatedAt.getTime() < STALE_RUNNING_MS);
}

export async function markQueued(groupId: string, jobId: string): Promise<void> {
  await setSync(groupId, { state: 'queued', jobId });
}

export async function markRunning(groupId: string, jobId: string): Promise<void> {
  await setSync(groupId, { state: 'running', jobId });
}

/** A sync finished: idle, or failed with the reason (a rule that cannot be evaluated, or held removals). */
export async function markSynced(groupId: string, at: Date, failure?: { message: string; heldRemovals?: number }): Promise<void> {
  if (failure) {
    await setSync(groupId, { state: 'failed', lastSyncAt: at, lastError: failure.message, ...(failure.heldRemovals ? { heldRemovals: failure.heldRemovals } : {}) }, failure.heldRemovals ? [] : ['heldRemovals']);
  } else {
    await setSync(groupId, { state: 'idle', lastSyncAt: at }, ['lastError', 'heldRemovals']);
  }
}

/** A directory change could not be applied to the group (it keeps its members): failed, with the reason. */
export async function markFailed(groupId: string, message: string, heldRemovals?: number): Promise<void> {
  await setSync(groupId, { state: 'failed', lastError: message, ...(heldRemovals ? { heldRemovals } : {}) });
}

/** Members added and removed by a directory change or a manual edit: every group named changed membership. */
export async function bumpCounts(deltas: ReadonlyMap<string, number>, at: Date): Promise<void> {
  await Promise.all(
    [...deltas].map(([groupId, delta]) =>
      withLocks([countLock(groupId)], () =>
        GroupCountsModel.collection.updateOne(
          { _id: groupId } as never,
          { $inc: { memberCount: delta }, $set: { lastChangeAt: at } },
          { upsert: true },
        ),
      ),
    ),
  );
}

/** The exact member count after a sync; `changedAt` when the sync changed membership. */
export async function setCount(groupId: string, memberCount: number, changedAt?: Date): Promise<void> {
  await withLocks([countLock(groupId)], () =>
    GroupCountsModel.collection.updateOne(
      { _id: groupId } as never,
      { $set: { memberCount: Math.max(0, memberCount), ...(changedAt ? { lastChangeAt: changedAt } : {}) } },
      { upsert: true },
    ),
  );
}

export async function removeGroupState(groupId: string): Promise<void> {
  await Promise.all([GroupSyncModel.collection.deleteOne({ _id: groupId } as never), GroupCountsModel.collection.deleteOne({ _id: groupId } as never)]);
}
