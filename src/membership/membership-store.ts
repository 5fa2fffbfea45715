// The membership store: the only writer of memberships, their history and exclusions, whatever the source (rule,
// manual, and the csv, copy, key and default sources). Nothing here decides membership: it writes what the
// planner or a hand edit decided, so that any number of writers doing the same work at once (a job run twice, a
// job and a directory change, two syncs of one group) end with the same documents and one history entry per real
// change. Every write here is counted (autogroups_membership_changes_total) and entered in the snapshot's change
// feed before it returns. Other modules read these collections (the accessors below) and never write them.
//
// - An addition is an insert with the deterministic `_id` `<group>:<user>`; a duplicate means another writer got
//   there first. History is written by the writer whose insert won, or by a re-run of that same writer (same run
//   key and instant, recognised on the stored document) completing what a crash interrupted.
// - A removal writes its history entry first, with an `_id` derived from the removed membership (group, user and
//   the instant it was added), then deletes by `_id`: two writers removing the same membership compute the same
//   entry, so one is written, and a crash between the two steps is finished by the re-run.
// - History is the outbox of membership events (the changes feed and webhooks read it): each entry is put in the
//   change log (src/changes/change-log.ts), which orders them, once the change is stored (after a removal's delete).
//   Before it writes anything a call records its intent (src/changes/log-intents.ts), and closes it once logged: a
//   writer that dies in between is settled by the sweep from what is stored (finishIntent), so a change that
//   happened is logged even without a re-run, and one that did not is never logged. An entry this writer inserted is
//   logged at once; one of its own interrupted earlier run is logged unless an entry names it already. Another
//   writer's entry (its insert won) is never logged here: that writer's intent sees to it, so it is logged once.
import type { Collection } from 'mongodb';
import mongoose from 'mongoose';
import type { Metrics } from '../platform/metrics.js';
import { db } from '../platform/db/index.js';
import {
  ExclusionModel,
  HistoryModel,
  MembershipModel,
  historyId,
  membershipId,
  membershipPage,
  pageBucket,
  type ExclusionDoc,
  type HistoryDoc,
  type MembershipDoc,
  type MembershipSource,
} from './membership.model.js';
import type { PlannedAdd, PlannedRemove } from './planner.js';
import type { GroupGraph } from '../groups/group-graph.js';
import { recordChanges } from '../snapshot/change-feed.js';
import { eachLimited } from '../platform/each-limited.js';
import { appendToLog, appendUnlessLogged, type LoggedEvent } from '../changes/change-log.js';
import { closeIntents, openIntents, otherIntentOfRun, type IntendedChange } from '../changes/log-intents.js';
import { backfillField, completionMark } from './backfill.js';
import { historySlot, historySlotsMark, slotChildren, slotMarkers, slotMarkersOf, type SlotMarker } from './history-slots.js';
import { isUserDeletion } from './change-reasons.js';

/** Deletes of different (group, source) slices sent at once. */
const SLICES_IN_FLIGHT = 8;


export interface WriteContext {
  /** Identifies the writer: a job id, or `change:<uuid>` for a directory change. */
  runKey: string;
  /** The instant of this write (fixed for a job, so that its re-run writes identical documents). */
  at: Date;
  /** Counts what this call wrote (autogroups_membership_changes_total). Every writer in the service passes it. */
  metrics?: Metrics;
  /**
   * The caller re-evaluates the groups whose rule names the changed groups itself (reconcile.ts does, in dependency
   * order): the store does not hand these changes to the moves hook.
   */
  followsDependents?: boolean;
}

/** One user's membership of one group changed (joined or left). */
export interface MembershipMove {
  groupId: string;
  externalId: string;
}

/**
 * Told of the memberships a write changed, before the write returns, so that the groups whose rule names those
 * groups (`memberOf`) follow in the same reaction (membership/group-cascade.ts). Set by the process's wiring, like
 * the added hook, so that this store imports nothing of the groups; `evaluated` names groups the caller evaluated
 * after these changes already (a reconcile pass in dependency order), which are not evaluated again.
 */
export type MembershipsMovedHook = (
  moves: readonly MembershipMove[],
  ctx: { runKey: string; at: Date; actor: string; evaluated?: ReadonlySet<string>; graph?: GroupGraph },
) => Promise<void>;
let movedHook: MembershipsMovedHook | undefined;

/** Returns the previous hook (to restore on stop). */
export function setMembershipsMovedHook(hook: MembershipsMovedHook | undefined): MembershipsMovedHook | undefined {
  const previous = movedHook;
  movedHook = hook;
  return previous;
}

/** Hands changed memberships to the moves hook (reconcile.ts, for the changes its pass did not settle). */
export async function followMoves(moves: readonly MembershipMove[], ctx: Parameters<MembershipsMovedHook>[1]): Promise<void> {
  if (moves.length && movedHook) await movedHook(moves, ctx);
}

/** For reading: only this module writes them (test/unit/membership/store-only-writer.test.ts checks). */
export const memberships = (): Collection<MembershipDoc> => MembershipModel.collection as unknown as Collection<MembershipDoc>;
export const history = (): Collection<HistoryDoc> => HistoryModel.collection as unknown as Collection<HistoryDoc>;
export const exclusions = (): Collection<ExclusionDoc> => ExclusionModel.collection as unknown as Collection<ExclusionDoc>;

/** A membership to add: what the planner plans (source rule), or a hand edit or import (another source). */
export interface MembershipAdd extends PlannedAdd {
  /** `rule` when absent. */
  source?: MembershipSource;
}

function addedEntry(m: MembershipDoc, reason: string, actor: string): HistoryDoc {
  return {
    ...(m.run !== undefined ? { run: m.run } : {}),
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

/** A membership this writer has just stored, with who added it. */
export interface AddedMembership {
  groupId: string;
  externalId: string;
  actor: string;
}

/**
 * Told of every membership addMemberships stored, whatever its source, before addMemberships returns: what follows
 * a join (enrolment in the group's courses, groups/group-courses.ts) happens once for every path that adds. Set by
 * the process's wiring (src/reactions.ts) so that this store imports nothing of the groups. A hook that throws fails
 * the addition's caller, whose re-run (job, journal replay) calls it again for the same memberships.
 */
export type MembershipsAddedHook = (added: readonly AddedMembership[], at: Date) => Promise<void>;
let addedHook: MembershipsAddedHook | undefined;

/** Returns the previous hook (to restore on stop). */
export function setMembershipsAddedHook(hook: MembershipsAddedHook | undefined): MembershipsAddedHook | undefined {
  const previous = addedHook;
  addedHook = hook;
  return previous;
}

function count(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** A group's members, counted by reading their `_id`s (a top-level equality: served by an index on every backend). */
export async function countMembers(groupId: string): Promise<number> {
  let n = 0;
  for await (const _ of memberships().find({ group: groupId }, { projection: { _id: 1 } }).batchSize(5000)) n++;
  return n;
}

/**
 * Adds memberships. Returns, per group, how many memberships this call created (a membership that exists already,
 * whoever inserted it, is left as it is and not counted).
 */
export async function addMemberships(adds: readonly MembershipAdd[], ctx: WriteContext): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  if (adds.length === 0) return created;
  const docs: MembershipDoc[] = adds.map((a) => ({
    _id: membershipId(a.groupId, a.externalId),
    group: a.groupId,
    externalId: a.externalId,
    source: a.source ?? 'rule',
    addedAt: ctx.at,
    // Only the rule's additions carry the version that added them.
    ...((a.source ?? 'rule') === 'rule' ? { ruleVersion: a.ruleVersion } : {}),
    run: ctx.runKey,
    page: membershipPage(a.groupId, pageBucket(a.externalId)),
  }));
  const intent = await openIntents(ctx.runKey, docs.map((doc, i) => ({ entry: addedEntry(doc, adds[i]!.reason, adds[i]!.actor) })));
  const duplicates = await db().insertIgnoringDuplicates(memberships(), docs);
  // A duplicate is another writer's insert, or this writer's own from an interrupted earlier run.
  const own = duplicates.size
    ? await db().readByIds(memberships(), [...duplicates].map((i) => docs[i]!._id))
    : new Map<string, MembershipDoc>();
  const entries: HistoryDoc[] = [];
  const written: string[] = [];
  const joined: AddedMembership[] = [];
  const firstRun: LoggedEvent[] = [];
  const reRun: LoggedEvent[] = [];
  docs.forEach((doc, i) => {
    const mine = !duplicates.has(i);
    if (mine) count(created, doc.group);
    const stored = mine ? doc : own.get(doc._id);
    if (mine || (stored && stored.run === ctx.runKey && stored.addedAt.getTime() === ctx.at.getTime())) {
      const entry = addedEntry(doc, adds[i]!.reason, adds[i]!.actor);
      entries.push(entry);
      (mine ? firstRun : reRun).push({ id: entry._id, group: doc.group, run: ctx.runKey });
      written.push(doc._id);
      joined.push({ groupId: doc.group, externalId: doc.externalId, actor: adds[i]!.actor });
    }
  });
  await insertHistory(entries);
  await Promise.all([appendToLog(firstRun), appendUnlessLogged(reRun)]);
  await closeIntents(intent);
  // This writer's inserts, including those of its interrupted earlier run, which may have missed the feed too.
  await recordChanges({ memberships: written });
  const bySource = new Map<string, number>();
  docs.forEach((doc, i) => {
    if (!duplicates.has(i)) count(bySource, doc.source);
  });
  for (const [source, n] of bySource) ctx.metrics?.membershipChanges.inc({ action: 'added', source }, n);
  // Including this writer's interrupted earlier inserts: what followed them may be what the interruption cut off.
  if (joined.length && addedHook) await addedHook(joined, ctx.at);
  if (!ctx.followsDependents && joined.length) await followMoves(joined, { runKey: ctx.runKey, at: ctx.at, actor: joined[0]!.actor });
  return created;
}

/**
 * Memberships this writer inserted in an earlier, interrupted run: their history may be missing. Writing it again
 * is harmless (the entry's `_id` is fixed), so every such membership gets its entry.
 */
export async function completeOwnHistory(own: readonly MembershipDoc[], reasonOf: (m: MembershipDoc) => string, actor: string): Promise<void> {
  if (own.length === 0) return;
  const entries = own.map((m) => addedEntry(m, reasonOf(m), actor));
  await insertHistory(entries);
  await appendUnlessLogged(entries.map((e) => ({ id: e._id, group: e.group, run: e.run ?? '' })));
}

/** Removes memberships, each with its history entry. Returns, per group, how many this call deleted. */
export async function removeMemberships(removes: readonly PlannedRemove[], ctx: WriteContext): Promise<Map<string, number>> {
  const deleted = new Map<string, number>();
  if (removes.length === 0) return deleted;
  const entries: HistoryDoc[] = removes.map((r) => ({
    _id: historyId(r.groupId, r.externalId, r.membership.addedAt, 'removed'),
    at: ctx.at,
    group: r.groupId,
    externalId: r.externalId,
    action: 'removed' as const,
    source: r.membership.source,
    ...(r.ruleVersion > 0 ? { ruleVersion: r.ruleVersion } : {}),
    actor: r.actor,
    reason: r.reason,
    run: ctx.runKey,
  }));
  const intended = entries.map((entry, i) => ({ entry, removedAddedAt: removes[i]!.membership.addedAt }));
  const intent = await openIntents(ctx.runKey, intended);
  const recorded = await insertHistory(entries);
  // Grouped by group and source, so that what is counted is what this call deleted (a concurrent writer's
  // deletion of the same membership is counted once, by whoever deleted it).
  const bySlice = new Map<string, { groupId: string; source: string; list: PlannedRemove[] }>();
  for (const r of removes) {
    const key = `${r.groupId}\n${r.membership.source}`;
    let slice = bySlice.get(key);
    if (!slice) bySlice.set(key, (slice = { groupId: r.groupId, source: r.membership.source, list: [] }));
    slice.list.push(r);
  }
  // The slices at once: one user leaving twenty groups is twenty small deletes, each a round trip.
  const failed = new Set<string>();
  let failure: unknown;
  await eachLimited([...bySlice.entries()], SLICES_IN_FLIGHT, async ([key, { groupId, source, list }]) => {
    try {
      const n = await db().deleteByIds(memberships(), list.map((r) => membershipId(r.groupId, r.externalId)));
      count(deleted, groupId, n);
      if (n > 0) ctx.metrics?.membershipChanges.inc({ action: 'removed', source }, n);
    } catch (err) {
      failed.add(key);
      failure ??= err;
    }
  });
  // Logged once deleted: a removal whose delete failed is settled below instead. A crash before this line leaves the
  // intent, which the sweep settles from what is stored.
  const gone = (i: number) => !failed.has(`${removes[i]!.groupId}\n${removes[i]!.membership.source}`);
  const ownEarlier = recorded.size ? await db().readByIds(history(), [...recorded].map((i) => entries[i]!._id)) : new Map<string, HistoryDoc>();
  const logged = (e: HistoryDoc): LoggedEvent => ({ id: e._id, group: e.group, run: ctx.runKey });
  await Promise.all([
    appendToLog(entries.filter((_, i) => !recorded.has(i) && gone(i)).map(logged)),
    appendUnlessLogged([...recorded].filter((i) => gone(i) && ownEarlier.get(entries[i]!._id)?.run === ctx.runKey).map((i) => logged(entries[i]!))),
  ]);
  if (failure !== undefined) {
    // Settled now from what is stored (a failed delete may have landed after all); when that fails too (the database
    // is still away), the intent stays open and the sweep settles it.
    await finishIntent({ ids: intent, run: ctx.runKey, changes: intended })
      .then(() => closeIntents(intent))
      .catch(() => undefined);
    throw failure;
  }
  await closeIntents(intent);
  await recordChanges({ memberships: removes.map((r) => membershipId(r.groupId, r.externalId)) });
  if (!ctx.followsDependents) await followMoves(removes.filter((r) => !isUserDeletion(r)), { runKey: ctx.runKey, at: ctx.at, actor: removes[0]!.actor });
  return deleted;
}

/**
 * Settles what a writer intended and did not finish logging (src/changes/log-intents.ts), from what is stored:
 * - an addition happened if its membership is there with the writer's run and instant, or its history entry is
 *   (written only after the insert won);
 * - a removal happened if the membership it removed (same `addedAt`) is gone, whoever deleted it;
 * and is then logged (its history written first if the writer died before it), unless a log entry names it already.
 * Changes whose history entry another writer's insert won are that writer's to log. A removal that did not happen
 * loses the history entry this writer wrote for it, unless a re-run of the same writer is under way (it may still
 * delete the membership, and would then log that entry).
 */
export async function finishIntent(intent: { ids: readonly string[]; run: string; changes: readonly IntendedChange[] }): Promise<void> {
  const ids = intent.changes.map((c) => membershipId(c.entry.group, c.entry.externalId));
  const [current, recorded] = await Promise.all([
    db().readByIds(memberships(), ids),
    db().readByIds(history(), intent.changes.map((c) => c.entry._id)),
  ]);
  const missing: HistoryDoc[] = [];
  const happened: LoggedEvent[] = [];
  const undone: string[] = [];
  intent.changes.forEach((c, i) => {
    const m = current.get(ids[i]!);
    const h = recorded.get(c.entry._id);
    if (h && h.run !== intent.run) return;
    const did =
      c.entry.action === 'added'
        ? h !== undefined || (m !== undefined && m.run === intent.run && m.addedAt.getTime() === c.entry.at.getTime())
        : m === undefined || m.addedAt.getTime() !== c.removedAddedAt?.getTime();
    if (did) {
      if (!h) missing.push(c.entry);
      happened.push({ id: c.entry._id, group: c.entry.group, run: intent.run });
    } else if (h) {
      undone.push(h._id);
    }
  });
  await insertHistory(missing);
  await appendUnlessLogged(happened);
  if (undone.length && !(await otherIntentOfRun(intent))) await db().deleteByIds(history(), undone);
}

/** Slot markers this process has written, per database: a marker is never deleted while its group exists. */
const markersWritten = new Map<string, Set<string>>();
const MARKERS_REMEMBERED = 50_000;

/**
 * Inserts history entries, each with its slot (history-slots.ts), after the markers of their slots: a reader never
 * meets an entry whose slot it cannot find. Returns the indexes of entries stored already (as insertIgnoringDuplicates).
 */
async function insertHistory(entries: readonly HistoryDoc[]): Promise<Set<number>> {
  if (entries.length === 0) return new Set();
  const slotted = entries.map((e) => ({ ...e, slot: historySlot(e.group, e.at) }));
  await writeSlotMarkers(slotted.map((e) => e.slot));
  return db().insertIgnoringDuplicates(history(), slotted);
}

/** Forgets the markers this process wrote (its database may be dropped before it starts again). */
export function forgetSlotMarkers(): void {
  markersWritten.clear();
}

async function writeSlotMarkers(slots: Iterable<string>): Promise<void> {
  const name = mongoose.connection.name;
  let known = markersWritten.get(name);
  if (!known || known.size > MARKERS_REMEMBERED) markersWritten.set(name, (known = new Set()));
  const fresh = new Map<string, SlotMarker>();
  for (const slot of new Set(slots)) {
    if (known.has(slot)) continue;
    for (const m of slotMarkersOf(slot)) if (!known.has(m._id)) fresh.set(m._id, m);
  }
  if (fresh.size === 0) return;
  await db().insertIgnoringDuplicates(slotMarkers(), [...fresh.values()]);
  for (const id of fresh.keys()) known.add(id);
}

/**
 * Gives every history entry stored before slots existed its slot and markers, then records that none is missing, so
 * that history pages may read by slot. Run by each process at start, in the background, until one finishes;
 * idempotent (the slot is a function of the entry). Entries written meanwhile carry their slot already.
 */
export function fillMissingHistorySlots(): Promise<number> {
  return backfillField({
    coll: history(),
    field: 'slot',
    projection: { group: 1, at: 1 },
    valueOf: (h) => historySlot(h.group, h.at),
    mark: historySlotsMark,
    // Every marker of the batch, whatever this process remembers writing: a backfill repairs what is missing.
    beforeWrite: async (slots) => {
      const markers = new Map(slots.flatMap(slotMarkersOf).map((m) => [m._id, m]));
      await db().insertIgnoringDuplicates(slotMarkers(), [...markers.values()]);
    },
  });
}

/**
 * Memberships of groups that no longer exist (a group deleted behind the API, or whose deletion was interrupted):
 * deleted without history, since their group's history went with it.
 */
export async function removeOrphans(ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db().deleteByIds(memberships(), ids);
  await recordChanges({ memberships: ids });
}

/** A deleted group's memberships, exclusions and history. The snapshot learns of it from the group's deletion. */
export async function forgetGroup(groupId: string): Promise<void> {
  await Promise.all([
    memberships().deleteMany({ group: groupId }),
    exclusions().deleteMany({ group: groupId }),
    history().deleteMany({ group: groupId }),
  ]);
  await deleteSlotMarkers(groupId);
}

/** A deleted group's slot markers, level by level (history-slots.ts): days, their hours, their seconds. */
async function deleteSlotMarkers(groupId: string): Promise<void> {
  const days = await slotChildren(groupId);
  const hours: string[] = [];
  await eachLimited(days, 8, async (day) => void hours.push(...(await slotChildren(day))));
  const seconds: string[] = [];
  await eachLimited(hours, 8, async (hour) => void seconds.push(...(await slotChildren(hour))));
  await db().deleteByIds(slotMarkers(), [...seconds, ...hours, ...days]);
}

/** Excludes a user from a group. Returns the stored exclusion and whether this call created it. */
export async function addExclusion(doc: ExclusionDoc): Promise<{ created: boolean; stored: ExclusionDoc }> {
  const dup = await db().insertIgnoringDuplicates(exclusions(), [doc]);
  if (dup.size === 0) return { created: true, stored: doc };
  return { created: false, stored: (await exclusions().findOne({ _id: doc._id })) ?? doc };
}

/** Lifts an exclusion; false when there was none. */
export async function removeExclusion(groupId: string, externalId: string): Promise<boolean> {
  return (await db().deleteByIds(exclusions(), [membershipId(groupId, externalId)])) > 0;
}

/**
 * Gives every membership stored before page buckets existed its `page` (see membershipPage), then records in
 * `settings` (`_id: membership-pages`) that none is missing, so that members pages may read by bucket. Run by each
 * process at start, in the background, until one finishes; idempotent (the page is a function of the document).
 * Memberships inserted meanwhile carry their page already.
 */
export function fillMissingPages(): Promise<number> {
  return backfillField({
    coll: memberships(),
    field: 'page',
    projection: { group: 1, externalId: 1 },
    valueOf: (m) => membershipPage(m.group, pageBucket(m.externalId)),
    mark: membershipPagesMark,
  });
}

/** Whether every membership has its page (fillMissingPages finished once, in any process). */
export const membershipPagesMark = completionMark('membership-pages');
