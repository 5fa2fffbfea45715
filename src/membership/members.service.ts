// Members, exclusions, history and explanations of one group: what the group endpoints read and the edits an
// admin makes by hand. Every write goes to the membership store, as the syncs' do.
import { flipOf } from './time-flips.js';
import { readsClock } from '../rules/next-change.js';
import { db } from '../platform/db/index.js';
import { randomUUID } from 'node:crypto';
import { usersCollection } from '../directory/user-store.js';
import { toUserFacts } from '../directory/user-facts.js';
import { ConflictError, NotFoundError, ValidationError } from '../platform/errors.js';
import { encodeCursor, type Page, type PageRequest, toPage } from '../platform/pagination.js';
import type { Metrics } from '../platform/metrics.js';
import { explainRule, type ExplainNode } from '../rules/index.js';
import type { GroupDoc } from '../groups/group.model.js';
import { PAGE_BUCKETS, membershipId, membershipPage, type ExclusionDoc, type HistoryDoc, type MembershipDoc, type MembershipSource } from './membership.model.js';
import { historySlot, historySlotsMark, slotsNewestFirst } from './history-slots.js';
import * as store from './membership-store.js';
import { exclusions, history, memberships, membershipPagesMark } from './membership-store.js';
import { toEvalGroup } from './active-groups.js';
import { Planner } from './planner.js';
import { currentMembershipOf, decide } from './policy.js';
import { bumpCounts, readMemberCounts } from './group-state.js';
import { explainNamedGroups, withMemberships } from './explain-groups.js';

export interface MemberView {
  externalId: string;
  source: MembershipSource;
  addedAt: string;
}

const memberView = (m: MembershipDoc): MemberView => ({ externalId: m.externalId, source: m.source, addedAt: m.addedAt.toISOString() });

/** From this many members, a group's pages are read by bucket where the adapter says so (db().pagesByBucket). */
const BUCKET_PAGES_FROM = 2000;
/** A bucket-order cursor: `#<bucket>:<externalId>` (an externalId never starts with `#`). */
const BUCKET_CURSOR = /^#(\d{2}):(.+)$/;

/**
 * A page of a group's members. A small group, or any group on MongoDB, is read in externalId order. A large group
 * on the embedded database is read bucket by bucket (membership.model.ts, pageBucket), in externalId order within
 * each: each query is a top-level equality that reads about 1/64 of the group, where a sorted read of the group
 * would read all of it. A cursor continues in the order it was issued in.
 */
export async function listMembers(groupId: string, page: PageRequest, source?: MembershipSource): Promise<Page<MemberView>> {
  const bucketCursor = page.after === undefined ? undefined : BUCKET_CURSOR.exec(page.after);
  const byBucket = page.after === undefined ? await pagedByBucket(groupId) : bucketCursor !== null;
  if (!byBucket) {
    const filter: Record<string, unknown> = { group: groupId };
    if (source) filter.source = source;
    if (page.after !== undefined) filter.externalId = { $gt: page.after };
    const docs = await db().groupPageRead(() => memberships().find(filter).sort({ externalId: 1 }).limit(page.limit + 1).toArray());
    return toPage(docs.map(memberView), page.limit, (m) => m.externalId);
  }
  let bucket = bucketCursor ? Number(bucketCursor[1]) : 0;
  if (bucket >= PAGE_BUCKETS) throw new ValidationError('The cursor is not one this service issued.', [{ path: 'cursor', message: 'invalid cursor' }]);
  let after = bucketCursor?.[2];
  const rows: Array<{ view: MemberView; key: string }> = [];
  for (; bucket < PAGE_BUCKETS && rows.length <= page.limit; bucket++, after = undefined) {
    const filter: Record<string, unknown> = { page: membershipPage(groupId, bucket) };
    if (source) filter.source = source;
    if (after !== undefined) filter.externalId = { $gt: after };
    const need = page.limit + 1 - rows.length;
    const docs = await db().groupPageRead(() => memberships().find(filter).sort({ externalId: 1 }).limit(need).toArray());
    const prefix = `#${String(bucket).padStart(2, '0')}:`;
    for (const d of docs) rows.push({ view: memberView(d), key: `${prefix}${d.externalId}` });
  }
  const paged = toPage(rows, page.limit, (r) => r.key);
  return { items: paged.items.map((r) => r.view), nextCursor: paged.nextCursor };
}

/** Whether a first page of this group is read by bucket: a large group, on a backend that needs it, once every membership has its bucket. */
async function pagedByBucket(groupId: string): Promise<boolean> {
  if (!db().pagesByBucket) return false;
  const members = (await readMemberCounts([groupId])).get(groupId) ?? 0;
  return members >= BUCKET_PAGES_FROM && (await membershipPagesMark.isComplete());
}

/** Every member, in externalId order, for the CSV export. */
export function streamMembers(groupId: string): AsyncIterable<MembershipDoc> {
  return memberships().find({ group: groupId }).sort({ externalId: 1 });
}

async function requireUser(externalId: string) {
  const user = await usersCollection().findOne({ _id: externalId });
  if (!user) throw new NotFoundError(`No user with externalId ${externalId}.`);
  return user;
}

/**
 * Why a hand-added member is there, as history keeps it. In a course's class group (kept by its class group sync,
 * `keep-staff`) it also says whether the next sync keeps them: staff stay, learners leave.
 */
function handAddReason(group: GroupDoc, type: 'learner' | 'staff'): string {
  if (!group.scope) return 'added by hand';
  return type === 'staff'
    ? `added by hand; staff, so the class group sync of course ${group.scope} keeps them`
    : `added by hand; a learner, so the next class group sync of course ${group.scope} removes them unless they are a student of the group`;
}

/** PUT a member by hand. Created: 201; already a member (any source): 200 with the membership as it is. */
export async function addMember(group: GroupDoc, externalId: string, actor: string, metrics?: Metrics): Promise<{ created: boolean; member: MemberView }> {
  const user = await requireUser(externalId);
  const id = membershipId(group._id, externalId);
  const existing = await memberships().findOne({ _id: id });
  if (existing) return { created: false, member: memberView(existing) };
  if (await exclusions().findOne({ _id: id })) {
    throw new ConflictError(`User ${externalId} is excluded from this group; remove the exclusion first.`);
  }
  if (group.type === 'automatic' && user.status !== 'active' && !group.includeInactive) {
    throw new ConflictError(`User ${externalId} is inactive and this group does not include inactive users.`);
  }
  const at = new Date();
  const created = await store.addMemberships(
    [{ groupId: group._id, externalId, source: 'manual', ruleVersion: group.ruleVersion, reason: handAddReason(group, user.type), actor }],
    { runKey: `manual:${randomUUID()}`, at, ...(metrics ? { metrics } : {}) },
  );
  const mine: MembershipDoc = { _id: id, group: group._id, externalId, source: 'manual', addedAt: at };
  if (!created.get(group._id)) {
    // Another writer added them meanwhile: the membership as it stands.
    return { created: false, member: memberView((await memberships().findOne({ _id: id })) ?? mine) };
  }
  await bumpCounts(new Map([[group._id, 1]]), at);
  return { created: true, member: memberView(mine) };
}

/** DELETE a member. A member the rule keeps would come back at the next sync: exclude them instead. */
export async function removeMember(group: GroupDoc, externalId: string, actor: string, metrics?: Metrics): Promise<void> {
  const existing = await memberships().findOne({ _id: membershipId(group._id, externalId) });
  if (!existing) throw new NotFoundError(`User ${externalId} is not a member of this group.`);
  if (existing.source === 'rule' && group.type === 'automatic' && !group.paused) {
    throw new ConflictError(`User ${externalId} is a member by the group's rule and would be added again; exclude them instead (PUT /api/v1/groups/${group._id}/exclusions/${externalId}).`);
  }
  await removeMemberships(group, [existing], actor, 'removed by hand', metrics);
}

async function removeMemberships(group: GroupDoc, docs: readonly MembershipDoc[], actor: string, reason: string, metrics?: Metrics): Promise<number> {
  const at = new Date();
  const removed = await store.removeMemberships(
    docs.map((m) => ({
      groupId: group._id,
      externalId: m.externalId,
      membership: currentMembershipOf(m),
      ruleVersion: group.ruleVersion,
      reason,
      actor,
    })),
    { runKey: `manual:${randomUUID()}`, at, ...(metrics ? { metrics } : {}) },
  );
  const n = removed.get(group._id) ?? 0;
  if (n) await bumpCounts(new Map([[group._id, -n]]), at);
  return n;
}

export interface ExclusionView {
  externalId: string;
  createdAt: string;
  actor?: string;
}
const exclusionView = (e: ExclusionDoc): ExclusionView => ({ externalId: e.externalId, createdAt: e.createdAt.toISOString(), ...(e.actor ? { actor: e.actor } : {}) });

/** PUT an exclusion: the user leaves the group now and never joins while it stands. */
export async function addExclusion(group: GroupDoc, externalId: string, actor: string, metrics?: Metrics): Promise<{ created: boolean; exclusion: ExclusionView }> {
  await requireUser(externalId);
  const doc: ExclusionDoc = { _id: membershipId(group._id, externalId), group: group._id, externalId, actor, createdAt: new Date() };
  const { created, stored } = await store.addExclusion(doc);
  const member = await memberships().findOne({ _id: doc._id });
  if (member) await removeMemberships(group, [member], actor, 'excluded from the group', metrics);
  return { created, exclusion: exclusionView(stored) };
}

/** DELETE an exclusion: the user is evaluated again at once, and joins if the rule selects them. */
export async function removeExclusion(group: GroupDoc, externalId: string, actor: string, metrics?: Metrics): Promise<void> {
  if (!(await store.removeExclusion(group._id, externalId))) throw new NotFoundError(`User ${externalId} is not excluded from this group.`);
  if (group.type !== 'automatic' || group.paused) return;
  const user = await usersCollection().findOne({ _id: externalId });
  if (!user) return;
  const now = new Date();
  const evalGroup = toEvalGroup(group);
  const planner = new Planner([evalGroup], now);
  const current = await memberships().findOne({ _id: membershipId(group._id, externalId) });
  // The rule may name other groups (memberOf): the user's memberships answer.
  const named = evalGroup.compiled?.uses.groups.size ? await withMemberships(toUserFacts(user)) : undefined;
  planner.user(user, {
    actor,
    current: () => (current ? { source: current.source, addedAt: current.addedAt } : undefined),
    excluded: () => false,
    ...(named?.memberOf ? { memberOf: named.memberOf } : {}),
  });
  const added = await store.addMemberships(planner.takeAdds(), { runKey: `manual:${randomUUID()}`, at: now, ...(metrics ? { metrics } : {}) });
  const n = added.get(group._id) ?? 0;
  if (n) await bumpCounts(new Map([[group._id, n]]), now);
}

export async function listExclusions(groupId: string, page: PageRequest): Promise<Page<ExclusionView>> {
  const filter: Record<string, unknown> = { group: groupId };
  if (page.after !== undefined) filter.externalId = { $gt: page.after };
  const docs = await db().groupPageRead(() => exclusions().find(filter).sort({ externalId: 1 }).limit(page.limit + 1).toArray());
  return toPage(docs.map(exclusionView), page.limit, (e) => e.externalId);
}

export interface HistoryView {
  at: string;
  externalId: string;
  action: 'added' | 'removed';
  source: MembershipSource;
  ruleVersion?: number;
  actor?: string;
  reason: string;
}

/**
 * Newest first: by instant, then `_id`. The cursor is the instant and `_id` of the last entry shown. A group's page is
 * read slot by slot where the adapter says so (history-slots.ts: each a second of the group's history, read by
 * equality), and from the whole group's entries otherwise, or for one user's entries (a narrow equality already).
 */
export async function listHistory(groupId: string, page: PageRequest, filters: { externalId?: string; action?: string }): Promise<Page<HistoryView>> {
  let after: { at: Date; id: string } | undefined;
  if (page.after !== undefined) {
    const cut = page.after.indexOf('|');
    after = { at: new Date(Number(page.after.slice(0, cut))), id: page.after.slice(cut + 1) };
    if (cut < 0 || Number.isNaN(after.at.getTime())) throw new ValidationError('The cursor is not one this service issued.', [{ path: 'cursor', message: 'invalid cursor' }]);
  }
  const bySlot = !filters.externalId && db().pagesByBucket && (await historySlotsMark.isComplete());
  const docs = bySlot ? await historyBySlot(groupId, page.limit + 1, filters.action, after) : await historyOfGroup(groupId, page.limit + 1, filters, after);
  const items = docs.slice(0, page.limit).map((h) => ({
    view: {
      at: h.at.toISOString(),
      externalId: h.externalId,
      action: h.action,
      source: h.source,
      ...(h.ruleVersion !== undefined ? { ruleVersion: h.ruleVersion } : {}),
      ...(h.actor ? { actor: h.actor } : {}),
      reason: h.reason,
    },
    key: `${h.at.getTime()}|${h._id}`,
  }));
  const last = items[items.length - 1];
  return { items: items.map((i) => i.view), nextCursor: docs.length > page.limit && last ? encodeCursor(last.key) : null };
}

/** The entries after the cursor, newest first, from one query over the group's history. */
function historyOfGroup(groupId: string, need: number, filters: { externalId?: string; action?: string }, after?: { at: Date; id: string }): Promise<HistoryDoc[]> {
  const filter: Record<string, unknown> = { group: groupId };
  if (filters.externalId) filter.externalId = filters.externalId;
  if (filters.action) filter.action = filters.action;
  if (after) filter.$or = [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: after.id } }];
  return db().groupPageRead(() => history().find(filter).sort({ at: -1, _id: -1 }).limit(need).toArray());
}

/** Slots read at once by one page, at most: a page reads its newest slot alone, then two, then four at a time. */
const SLOTS_IN_FLIGHT = 4;
/** Slot reads after which a page reads the rest of its entries from the whole group (a sparse history: few entries a slot). */
const SLOT_READS_AT_MOST = 32;

/** The entries after the cursor, newest first, read slot by slot until the page is full. */
async function historyBySlot(groupId: string, need: number, action?: string, after?: { at: Date; id: string }): Promise<HistoryDoc[]> {
  const rows: HistoryDoc[] = [];
  const before = (h: HistoryDoc) => !after || h.at < after.at || (h.at.getTime() === after.at.getTime() && h._id < after.id);
  const newestFirst = (a: HistoryDoc, b: HistoryDoc) => b.at.getTime() - a.at.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);
  const slots = slotsNewestFirst(groupId, after ? historySlot(groupId, after.at) : undefined);
  let reads = 0;
  // A slot can hold thousands of entries (a batch, a sync: one instant): a page that its newest slot fills reads no other.
  let width = 1;
  while (rows.length < need) {
    const window: string[] = [];
    while (window.length < width) {
      const next = await slots.next();
      if (next.done) break;
      window.push(next.value);
    }
    if (window.length === 0) return rows;
    const read = await Promise.all(
      window.map((slot) => {
        const filter: Record<string, unknown> = { slot };
        if (action) filter.action = action;
        return db().groupPageRead(() => history().find(filter).toArray());
      }),
    );
    for (const docs of read) rows.push(...docs.filter(before).sort(newestFirst));
    reads += window.length;
    width = Math.min(SLOTS_IN_FLIGHT, width * 2);
    if (rows.length < need && reads >= SLOT_READS_AT_MOST) {
      // The rest from the whole group, after the last entry found here.
      const last = rows[rows.length - 1];
      await slots.return(undefined);
      return [...rows, ...(await historyOfGroup(groupId, need - rows.length, action ? { action } : {}, last ? { at: last.at, id: last._id } : after))];
    }
  }
  await slots.return(undefined);
  return rows.slice(0, need);
}

export interface Explanation {
  member: boolean;
  matches: boolean;
  conditions: ExplainNode | null;
  source?: MembershipSource;
  excluded: boolean;
  /** Why the user is or is not a member, in words. */
  reason: string;
  /** What the next evaluation would do: 'add', 'remove', or null when nothing changes. */
  pending: 'add' | 'remove' | null;
  /** When time alone next changes this user's result (the stored time flip), or null. */
  changesAt: string | null;
  /** With changesAt: the condition that flips then, in words. */
  changeReason?: string;
}

export async function explainMembership(group: GroupDoc, externalId: string, now = new Date()): Promise<Explanation> {
  const user = await requireUser(externalId);
  const id = membershipId(group._id, externalId);
  const [membership, exclusion, flip] = await Promise.all([
    memberships().findOne({ _id: id }),
    exclusions().findOne({ _id: id }),
    group.type === 'automatic' && !group.paused && group.rule && readsClock(group.rule) ? flipOf(group._id, externalId) : null,
  ]);
  const excluded = exclusion !== null;
  let matches = false;
  let conditions: ExplainNode | null = null;
  if (group.type === 'automatic' && group.rule) {
    // memberOf conditions read the user's memberships, and show the named group's own explanation.
    const facts = await withMemberships(toUserFacts(user));
    const explanation = await explainRule(group.rule, facts, now);
    await explainNamedGroups(explanation.conditions, facts, now);
    matches = explanation.matches;
    conditions = explanation.conditions;
  }
  const current = membership ? { source: membership.source, addedAt: membership.addedAt } : undefined;
  const standing = { active: user.status === 'active', staff: user.type === 'staff' };
  let pending: Explanation['pending'] = null;
  if (group.type === 'automatic' && !group.paused) {
    const d = decide(group, standing, matches, current, excluded);
    pending = d.action === 'add' || d.action === 'remove' ? d.action : null;
  }
  return {
    member: membership !== null,
    matches,
    conditions,
    ...(membership ? { source: membership.source } : {}),
    excluded,
    reason: reasonText(group, membership, matches, excluded, standing.active, pending),
    pending,
    changesAt: flip ? flip.at.toISOString() : null,
    ...(flip ? { changeReason: flip.reason } : {}),
  };
}

function reasonText(group: GroupDoc, m: MembershipDoc | null, matches: boolean, excluded: boolean, active: boolean, pending: Explanation['pending']): string {
  const later = group.paused ? ' (the group is paused)' : ' (the next evaluation will change this)';
  if (excluded) return m ? `excluded from the group, still listed${later}` : 'excluded from the group';
  if (group.type === 'automatic' && !active && !group.includeInactive) {
    return m ? `inactive, still listed${later}` : 'inactive, and the group does not include inactive users';
  }
  if (m) {
    const how = m.source === 'rule' ? `added by rule v${m.ruleVersion ?? '?'}` : `added by ${m.source}`;
    if (group.type !== 'automatic' || matches) return `${how}${matches ? `; matches rule v${group.ruleVersion}` : ''}`;
    if (pending === 'remove') return `${how}; no longer matches rule v${group.ruleVersion}${later}`;
    return `${how}; does not match rule v${group.ruleVersion}, kept by manualMembers ${group.manualMembers}`;
  }
  if (group.type !== 'automatic') return 'not a member of this manual group';
  return matches ? `matches rule v${group.ruleVersion}, not yet added${later}` : `does not match rule v${group.ruleVersion}`;
}
