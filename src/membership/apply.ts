// Writing the difference. Nothing here decides membership: it writes what the planner planned, so that any number
// of writers doing the same work at once (a job run twice, a job and a directory change) end with the same
// documents and one history entry per real change:
//
// - An addition is an insert with the deterministic `_id` `<group>:<user>`; a duplicate means another writer got
//   there first. History is written by the writer whose insert won, or by a re-run of that same writer (same run
//   key and instant, recognised on the stored document) completing what a crash interrupted.
// - A removal writes its history entry first, with an `_id` derived from the removed membership (group, user and
//   the instant it was added), then deletes by `_id`: two writers removing the same membership compute the same
//   entry, so one is written, and a crash between the two steps is finished by the re-run.
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Document } from 'mongodb';
import type { Metrics } from '../platform/metrics.js';
import { isDuplicateKeyError } from '../directory/user-store.js';
import { isEmbeddedDatabase } from '../platform/database.js';
import mongoose from 'mongoose';
import {
  HistoryModel,
  MembershipModel,
  historyId,
  membershipId,
  type HistoryDoc,
  type MembershipDoc,
} from './membership.model.js';
import type { PlannedAdd, PlannedRemove } from './planner.js';
import { recordChanges } from '../snapshot/change-feed.js';

const CHUNK = 1000;
const LOOKUP_CONCURRENCY = 16;

export interface WriteContext {
  /** Identifies the writer: a job id, or `change:<uuid>` for a directory change. */
  runKey: string;
  /** The instant of this write (fixed for a job, so that its re-run writes identical documents). */
  at: Date;
  /** Counts what this call wrote (autogroups_membership_changes_total). Every writer in the service passes it. */
  metrics?: Metrics;
}

export const memberships = (): Collection<MembershipDoc> => MembershipModel.collection as unknown as Collection<MembershipDoc>;
const history = (): Collection<HistoryDoc> => HistoryModel.collection as unknown as Collection<HistoryDoc>;

/** Inserts every document, ignoring duplicates; returns the indexes that were duplicates. */
export async function insertIgnoringDuplicates<T extends { _id: string }>(coll: Collection<T>, docs: readonly T[]): Promise<Set<number>> {
  const duplicates = new Set<number>();
  for (let start = 0; start < docs.length; start += CHUNK) {
    const chunk = docs.slice(start, start + CHUNK);
    try {
      await coll.insertMany(chunk as never[], { ordered: false });
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) throw err;
      const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      for (const we of writeErrors) {
        if (!isDuplicateKeyError({ code: we.code, message: we.errmsg })) throw err;
        duplicates.add(start + we.index);
      }
    }
  }
  return duplicates;
}

/**
 * About how many documents a collection holds. FerretDB answers `count` by reading every document (seconds at tens
 * of thousands) but `collStats` from PostgreSQL's statistics (it runs ANALYZE first: a sampled estimate);
 * MongoDB answers either from metadata.
 */
export async function estimateDocuments<T extends Document>(coll: Collection<T>): Promise<number> {
  if (await isEmbeddedDatabase()) {
    // Mongoose's collection wrapper has no `db`: ask the connection's.
    const db = mongoose.connection.db;
    if (!db) throw new Error('database not connected');
    const stats = await db.command({ collStats: coll.collectionName });
    return Number(stats.count ?? 0);
  }
  return coll.estimatedDocumentCount();
}

/** Runs `fn` over items with bounded concurrency. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * Documents by `_id`. MongoDB answers `$in` from the index; FerretDB only an exact `{ _id: value }` (any other
 * filter reads the whole collection), so there they are looked up one by one, a few at a time.
 */
export async function findByIds<T extends { _id: string }>(coll: Collection<T>, ids: readonly string[]): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  if (ids.length === 0) return found;
  if (!(await isEmbeddedDatabase())) {
    for (let start = 0; start < ids.length; start += CHUNK) {
      for await (const doc of coll.find({ _id: { $in: ids.slice(start, start + CHUNK) } } as never)) found.set((doc as T)._id, doc as T);
    }
    return found;
  }
  await eachLimited(ids, LOOKUP_CONCURRENCY, async (id) => {
    const doc = (await coll.findOne({ _id: id } as never)) as T | null;
    if (doc) found.set(id, doc);
  });
  return found;
}

function addedEntry(m: MembershipDoc, reason: string, actor: string): HistoryDoc {
  return {
    _id: historyId(m.group, m.externalId, m.addedAt, 'added'),
    at: m.addedAt,
    group: m.group,
    externalId: m.externalId,
    action: 'added',
    source: m.source,
    ...(m.ruleVersion !== undefined ? { ruleVersion: m.ruleVersion } : {}),
    actor,
    reason,
  };
}

function count(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Writes planned additions. Returns, per group, how many memberships this call created. */
export async function writeAdds(adds: readonly PlannedAdd[], ctx: WriteContext): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  if (adds.length === 0) return created;
  const docs: MembershipDoc[] = adds.map((a) => ({
    _id: membershipId(a.groupId, a.externalId),
    group: a.groupId,
    externalId: a.externalId,
    source: 'rule',
    addedAt: ctx.at,
    ruleVersion: a.ruleVersion,
    run: ctx.runKey,
  }));
  const duplicates = await insertIgnoringDuplicates(memberships(), docs);
  // A duplicate is another writer's insert, or this writer's own from an interrupted earlier run.
  const own = duplicates.size
    ? await findByIds(memberships(), [...duplicates].map((i) => docs[i]!._id))
    : new Map<string, MembershipDoc>();
  const entries: HistoryDoc[] = [];
  const written: string[] = [];
  docs.forEach((doc, i) => {
    const mine = !duplicates.has(i);
    if (mine) count(created, doc.group);
    const stored = mine ? doc : own.get(doc._id);
    if (mine || (stored && stored.run === ctx.runKey && stored.addedAt.getTime() === ctx.at.getTime())) {
      entries.push(addedEntry(doc, adds[i]!.reason, adds[i]!.actor));
      written.push(doc._id);
    }
  });
  await insertIgnoringDuplicates(history(), entries);
  // This writer's inserts, including those of its interrupted earlier run, which may have missed the feed too.
  await recordChanges({ memberships: written });
  for (const [, n] of created) if (n > 0) ctx.metrics?.membershipChanges.inc({ action: 'added', source: 'rule' }, n);
  return created;
}

/**
 * Memberships this writer inserted in an earlier, interrupted run: their history may be missing. Writing it again
 * is harmless (the entry's `_id` is fixed), so every such membership gets its entry.
 */
export async function completeOwnHistory(own: readonly MembershipDoc[], reasonOf: (m: MembershipDoc) => string, actor: string): Promise<void> {
  if (own.length === 0) return;
  await insertIgnoringDuplicates(history(), own.map((m) => addedEntry(m, reasonOf(m), actor)));
}

/** Writes planned removals. Returns, per group, how many memberships this call deleted. */
export async function writeRemovals(removes: readonly PlannedRemove[], ctx: WriteContext): Promise<Map<string, number>> {
  const deleted = new Map<string, number>();
  if (removes.length === 0) return deleted;
  await insertIgnoringDuplicates(
    history(),
    removes.map((r) => ({
      _id: historyId(r.groupId, r.externalId, r.membership.addedAt, 'removed'),
      at: ctx.at,
      group: r.groupId,
      externalId: r.externalId,
      action: 'removed' as const,
      source: r.membership.source,
      ...(r.ruleVersion > 0 ? { ruleVersion: r.ruleVersion } : {}),
      actor: r.actor,
      reason: r.reason,
    })),
  );
  // Grouped by group and source, so that what is counted is what this call deleted (a concurrent writer's
  // deletion of the same membership is counted once, by whoever deleted it).
  const bySlice = new Map<string, { groupId: string; source: string; list: PlannedRemove[] }>();
  for (const r of removes) {
    const key = `${r.groupId}\n${r.membership.source}`;
    let slice = bySlice.get(key);
    if (!slice) bySlice.set(key, (slice = { groupId: r.groupId, source: r.membership.source, list: [] }));
    slice.list.push(r);
  }
  for (const { groupId, source, list } of bySlice.values()) {
    for (let start = 0; start < list.length; start += CHUNK) {
      const ops: AnyBulkWriteOperation<MembershipDoc>[] = list
        .slice(start, start + CHUNK)
        .map((r) => ({ deleteOne: { filter: { _id: membershipId(r.groupId, r.externalId) } } }));
      const res = await memberships().bulkWrite(ops, { ordered: false });
      count(deleted, groupId, res.deletedCount);
      if (res.deletedCount > 0) ctx.metrics?.membershipChanges.inc({ action: 'removed', source }, res.deletedCount);
    }
  }
  await recordChanges({ memberships: removes.map((r) => membershipId(r.groupId, r.externalId)) });
  return deleted;
}
