// Groups: create, read, change, delete; rule versions; starting syncs. Membership itself lives in membership/.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { ConflictError, NotFoundError, PreconditionFailedError, ValidationError, type FieldError } from '../platform/errors.js';
import { ifMatchHolds, representationEtag } from '../platform/conditional.js';
import { encodeCursor, type Page, type PageRequest } from '../platform/pagination.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { SYNC_GROUP_JOB, type SyncGroupJobData } from '../jobs/sync-group.job.js';
import { SYNC_ALL_JOB, type SyncAllJobData } from '../jobs/sync-all.job.js';
import { validateRule, type RuleDocument, type RuleIssue } from '../rules/index.js';
import { CourseModel } from '../directory/course.model.js';
import { isDuplicateKeyError, withLocks } from '../platform/db/index.js';
import { GroupModel, type GroupDoc } from './group.model.js';
import { RuleVersionModel, ruleVersionId, type RuleVersionDoc } from './rule-version.model.js';
import type { GroupInput, GroupPatch } from './groups.schema.js';
import { forgetGroup } from '../membership/membership-store.js';
import { recordChanges } from '../snapshot/change-feed.js';
import { markQueued, readGroupStates, removeGroupState, setCount, type GroupState } from '../membership/group-state.js';
import { fieldKeysRead } from '../membership/rule-reads.js';
import { backlogMessage, backlogOf, type GroupBacklog } from '../membership/reaction-backlog.js';
import { readBacklog, type BacklogEntry } from '../directory/user-events.js';
import { clearDefaultGroup, readDefaultGroupId, setDefaultGroup } from './default-group.js';
import { writeGroup } from './group-writes.js';
import { dropKeys, forgetGroupKeys, keyUses, mintKey, rotateKey, type KeyAnswer } from './group-keys.js';
import { GRAPH_LOCK, graphIssues, loadGroupGraph, referencesOf } from './group-graph.js';
import { ruleValidationContext } from './rule-check.js';
import { nextFlipOfGroup } from '../membership/time-flips.js';
import { readsClock } from '../rules/next-change.js';

export interface GroupView {
  id: string;
  name: string;
  description?: string;
  type: 'manual' | 'automatic';
  /** The course whose groups this one belongs to; absent for global groups. */
  course?: string;
  rule?: RuleDocument;
  ruleVersion?: number;
  manualMembers: string;
  includeInactive: boolean;
  paused: boolean;
  isDefault: boolean;
  courses: string[];
  key?: { enabled: boolean; maxUses?: number; uses: number; key?: string };
  price?: number;
  memberCount: number;
  sync?: {
    state: string;
    lastSyncAt: string | null;
    lastChangeAt: string | null;
    /** The earliest instant some user's result changes by time alone (the group's next stored time flip), or null. */
    nextChangeAt?: string | null;
    lastError?: string;
    heldRemovals?: number;
    pendingUsers?: number;
    jobId?: string;
  };
  /** GET /groups/{id}: the groups whose rule names this one (`memberOf`). */
  usedBy?: Array<{ id: string; name: string }>;
  createdAt: string;
  updatedAt: string;
}

/** The in-process lock of one group's configuration (also taken by group-courses.ts). */
export const groupLock = (id: string) => `group:${id}`;
const iso = (d: Date | undefined | null) => (d ? d.toISOString() : null);

/**
 * The `sync` object. A group owed the reaction of a failed directory write (reaction-backlog.ts) is not idle: it
 * shows `queued` while the replay job has not yet tried (the write's own reaction failed once), `failed` when a
 * replay failed too, with the users owed in `pendingUsers` and the cause in `lastError`, until the job catches up.
 * A sync of the group's own (queued, running or failed) shows first.
 */
function syncView(state: GroupState | undefined, backlog: GroupBacklog | undefined): NonNullable<GroupView['sync']> {
  const own = state?.sync?.state ?? 'idle';
  const owed = backlog && own === 'idle' ? (backlog.attempts > 1 ? 'failed' : 'queued') : own;
  const lastError = state?.sync?.lastError ?? (backlog ? backlogMessage(backlog) : undefined);
  return {
    state: owed,
    lastSyncAt: iso(state?.sync?.lastSyncAt),
    lastChangeAt: iso(state?.counts?.lastChangeAt),
    ...(lastError ? { lastError } : {}),
    ...(state?.sync?.heldRemovals ? { heldRemovals: state.sync.heldRemovals } : {}),
    ...(backlog ? { pendingUsers: backlog.users } : {}),
    ...(state?.sync?.jobId ? { jobId: state.sync.jobId } : {}),
  };
}

/** What a group shows of its key; the key itself only to those who may make one (admin and support). */
export interface KeyShown {
  uses: number;
  showKey: boolean;
}

/** A stored group as read: whether it is the default comes from the default-group document (default-group.ts). */
export type GroupRead = GroupDoc & { isDefault: boolean };

export function groupView(doc: GroupRead, state: GroupState | undefined, backlog?: readonly BacklogEntry[], keyShown?: KeyShown): GroupView {
  const auto = doc.type === 'automatic';
  return {
    id: doc._id,
    name: doc.name,
    ...(doc.description ? { description: doc.description } : {}),
    type: doc.type,
    ...(doc.scope ? { course: doc.scope } : {}),
    ...(auto ? { rule: doc.rule!, ruleVersion: doc.ruleVersion } : {}),
    manualMembers: doc.manualMembers,
    includeInactive: doc.includeInactive,
    paused: doc.paused,
    isDefault: doc.isDefault,
    courses: [...(doc.courses ?? [])],
    ...(doc.key
      ? {
          key: {
            enabled: doc.key.enabled,
            ...(doc.key.maxUses !== undefined && doc.key.maxUses !== null ? { maxUses: doc.key.maxUses } : {}),
            uses: keyShown?.uses ?? 0,
            ...(keyShown?.showKey && doc.key.value ? { key: doc.key.value } : {}),
          },
        }
      : {}),
    ...(doc.price !== undefined && doc.price !== null ? { price: doc.price } : {}),
    memberCount: Math.max(0, state?.counts?.memberCount ?? 0),
    ...(auto ? { sync: syncView(state, backlogOf(doc, backlog ?? [])) } : {}),
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/** The stored group, and whether the default-group document (default-group.ts) names it. */
export async function requireGroup(id: string): Promise<GroupRead> {
  const [doc, defaultId] = await Promise.all([GroupModel.findById(id).lean<GroupDoc>(), readDefaultGroupId()]);
  if (!doc) throw new NotFoundError(`No group with id ${id}.`);
  // Discarding a version leaves the group as it is: what was read stands.
  if (doc.type === 'automatic') await discardUnfinishedRuleVersion(doc);
  return { ...doc, isDefault: doc._id === defaultId };
}

/**
 * A rule version stored without its group's update (putRule failed between the two, e.g. the database went away:
 * the request answered 503) never took effect. Left there, it would make every later PUT of the rule collide with
 * it and answer 412 while GET shows the version before it. Whoever reads the group next removes it, under the
 * group's lock, so that a PUT still between its two steps (it holds the lock) is never mistaken for one that
 * failed.
 */
async function discardUnfinishedRuleVersion(doc: GroupDoc): Promise<void> {
  const versions = RuleVersionModel.collection as unknown as Collection<RuleVersionDoc>;
  if (!(await versions.findOne({ _id: ruleVersionId(doc._id, doc.ruleVersion + 1) }, { projection: { _id: 1 } }))) return;
  await withLocks([groupLock(doc._id)], async () => {
    const current = await GroupModel.findById(doc._id, { ruleVersion: 1 }).lean<Pick<GroupDoc, 'ruleVersion'>>();
    if (current) await versions.deleteOne({ _id: ruleVersionId(doc._id, current.ruleVersion + 1) });
  });
}

/** Who reads a group: whether they are shown its key. Absent: they are (the writers' own answers). */
export interface Reader {
  showKey: boolean;
}

async function keyShown(doc: GroupDoc, reader: Reader | undefined): Promise<KeyShown> {
  return { uses: doc.key ? await keyUses(doc._id, doc.key.id) : 0, showKey: reader?.showKey ?? true };
}

export async function getGroup(id: string, reader?: Reader): Promise<GroupView> {
  const doc = await requireGroup(id);
  const [states, backlog, shown, graph] = await Promise.all([readGroupStates([id]), readBacklog(), keyShown(doc, reader), loadGroupGraph()]);
  return { ...(await withNextChange(groupView(doc, states.get(id), backlog, shown), doc)), usedBy: graph.usedBy(id) };
}

/**
 * `sync.nextChangeAt`: the group's earliest stored time flip (time-flips.ts; two small reads by equality). Null
 * for a paused group, which time does not move, and for a rule that does not read the clock.
 */
async function withNextChange(view: GroupView, doc: GroupDoc): Promise<GroupView> {
  if (!view.sync) return view;
  // A rule that no longer reads the clock may leave flips of its earlier version until their instant: not shown.
  const timed = doc.rule !== undefined && readsClock(doc.rule);
  const next = doc.paused || !timed ? null : await nextFlipOfGroup(doc._id);
  return { ...view, sync: { ...view.sync, nextChangeAt: next ? next.toISOString() : null } };
}

export async function listGroups(page: PageRequest, filters: { type?: string; priced?: boolean; course?: string }, reader?: Reader): Promise<Page<GroupView>> {
  const filter: Record<string, unknown> = {};
  if (filters.type) filter.type = filters.type;
  // Bundles: a price of 0 is a (free) bundle; a cleared price is unset (PATCH price: null).
  if (filters.priced !== undefined) filter.price = filters.priced ? { $ne: null } : null;
  // A course's groups are those scoped to it (its class group sync's).
  if (filters.course) filter.scope = filters.course;
  if (page.after !== undefined) filter._id = { $gt: page.after };
  const docs = await GroupModel.find(filter).sort({ _id: 1 }).limit(page.limit + 1).lean<GroupDoc[]>();
  const shown = docs.slice(0, page.limit);
  const [states, backlog, defaultId, keyed] = await Promise.all([
    readGroupStates(shown.map((d) => d._id)),
    readBacklog(),
    readDefaultGroupId(),
    Promise.all(shown.map((d) => keyShown(d, reader))),
  ]);
  return {
    items: await Promise.all(shown.map((d, i) => withNextChange(groupView({ ...d, isDefault: d._id === defaultId }, states.get(d._id), backlog, keyed[i]), d))),
    nextCursor: docs.length > page.limit ? encodeCursor(shown[shown.length - 1]!._id) : null,
  };
}

/**
 * The rule checked against the current field definitions, courses and groups (for group `groupId`: a cycle of
 * groups through it is refused); 400 naming every bad place.
 */
async function checkRule(rule: unknown, groupId?: string): Promise<{ rule: RuleDocument; warnings: RuleIssue[] }> {
  const { ctx, graph } = await ruleValidationContext();
  const result = validateRule(rule, ctx);
  if (result.valid && groupId) result.errors.push(...graphIssues(rule, groupId, graph));
  if (result.errors.length) {
    throw new ValidationError(
      `The rule has ${result.errors.length} error${result.errors.length > 1 ? 's' : ''}.`,
      result.errors.map((e) => ({ path: e.path ? `rule.${e.path}` : 'rule', message: e.message })),
    );
  }
  return { rule: rule as RuleDocument, warnings: result.warnings.map((w) => ({ path: w.path ? `rule.${w.path}` : 'rule', message: w.message })) };
}

async function checkCourses(courses: readonly string[]): Promise<void> {
  if (courses.length === 0) return;
  const known = new Set((await CourseModel.find({}, { _id: 1 }).lean<Array<{ _id: string }>>()).map((c) => c._id));
  const errors: FieldError[] = [];
  courses.forEach((c, i) => {
    if (!known.has(c)) errors.push({ path: `courses[${i}]`, message: `no course with code ${c}` });
  });
  if (errors.length) throw new ValidationError(`The request names ${errors.length} unknown course${errors.length > 1 ? 's' : ''}.`, errors);
}

function nameClash(name: string): ConflictError {
  return new ConflictError(`A group named ${JSON.stringify(name)} already exists.`, [{ path: 'name', message: 'is already used by another group' }]);
}

/** Queues a sync of the group: its state says queued before the job can start and say running. */
export async function startGroupSync(
  scheduler: Scheduler,
  groupId: string,
  opts: { actor: string; confirmRemovals?: boolean; jobId?: string },
): Promise<string> {
  const jobId = opts.jobId ?? `${SYNC_GROUP_JOB}:${groupId}:${randomUUID()}`;
  await markQueued(groupId, jobId);
  const data: SyncGroupJobData = { groupId, ...(opts.confirmRemovals ? { confirmRemovals: true } : {}) };
  return scheduler.enqueue(SYNC_GROUP_JOB, data, { actor: opts.actor, jobId });
}

export async function startFullSync(scheduler: Scheduler, opts: { actor: string; partitions?: number }): Promise<string> {
  const data: SyncAllJobData = opts.partitions ? { partitions: opts.partitions } : {};
  return scheduler.enqueue(SYNC_ALL_JOB, data, { actor: opts.actor, jobId: `${SYNC_ALL_JOB}:${randomUUID()}` });
}

const versionSyncJobId = (groupId: string, version: number) => `${SYNC_GROUP_JOB}:${groupId}:v${version}`;

export async function createGroup(
  input: GroupInput,
  actor: string,
  scheduler: Scheduler,
): Promise<{ group: GroupView; jobId?: string; warnings: RuleIssue[] }> {
  const checked = input.type === 'automatic' ? await checkRule(input.rule) : undefined;
  await checkCourses(input.courses);
  // A rule naming groups is stored under the graph's lease, as a delete of a group checks who names it under it.
  const graphLock = referencesOf(checked?.rule).length ? [GRAPH_LOCK] : [];
  return withLocks(graphLock, async () => {
    if (graphLock.length) await checkRule(input.rule);
    return insertGroup(input, actor, scheduler, checked);
  });
}

async function insertGroup(
  input: GroupInput,
  actor: string,
  scheduler: Scheduler,
  checked: { rule: RuleDocument; warnings: RuleIssue[] } | undefined,
): Promise<{ group: GroupView; jobId?: string; warnings: RuleIssue[] }> {
  const now = new Date();
  const id = `grp_${randomBytes(8).toString('hex')}`;
  const doc: GroupDoc = {
    _id: id,
    name: input.name,
    nameLower: input.name.toLowerCase(),
    scope: '',
    ...(input.description ? { description: input.description } : {}),
    type: input.type,
    ...(checked ? { rule: checked.rule } : {}),
    ruleVersion: checked ? 1 : 0,
    manualMembers: input.manualMembers,
    includeInactive: input.includeInactive,
    paused: input.paused,
    courses: input.courses,
    ...(input.key ? { key: await mintKey(id, input.key) } : {}),
    ...(input.price !== undefined ? { price: input.price } : {}),
    createdBy: actor,
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
  if (checked) {
    await RuleVersionModel.collection.insertOne({ _id: ruleVersionId(id, 1), group: id, version: 1, rule: checked.rule, actor, createdAt: now } as never);
  }
  try {
    await GroupModel.collection.insertOne(doc as never);
  } catch (err) {
    if (checked) await RuleVersionModel.collection.deleteOne({ _id: ruleVersionId(id, 1) } as never);
    if (doc.key) await dropKeys(id);
    if (isDuplicateKeyError(err)) throw nameClash(input.name);
    throw err;
  }
  await setCount(id, 0);
  if (input.isDefault) await setDefaultGroup(id, now);
  let jobId: string | undefined;
  if (doc.type === 'automatic' && !doc.paused) jobId = await startGroupSync(scheduler, id, { actor, jobId: versionSyncJobId(id, 1) });
  return { group: await getGroup(id), ...(jobId ? { jobId } : {}), warnings: checked?.warnings ?? [] };
}

/**
 * If-Match on PATCH or DELETE /groups/{id}: the target is the group, whose one entity tag is the ETag of GET
 * /groups/{id} (see putRule for the rule's). Called under the group's lock, so no write of this process slips
 * between the comparison and the change.
 */
async function checkGroupPrecondition(existing: GroupRead, ifMatch: string | undefined): Promise<void> {
  if (ifMatch === undefined) return;
  const current = await currentGroupEtag(existing);
  if (!ifMatchHolds(ifMatch, [current])) {
    throw new PreconditionFailedError("If-Match does not name the group's current ETag; read the group again and retry.", undefined, { currentEtag: current });
  }
}

export async function updateGroup(
  id: string,
  patch: GroupPatch,
  actor: string,
  scheduler: Scheduler,
  ifMatch?: string,
): Promise<{ group: GroupView; jobId?: string }> {
  if (patch.courses) await checkCourses(patch.courses);
  const { before, after } = await withLocks([groupLock(id)], async () => {
    const existing = await requireGroup(id);
    await checkGroupPrecondition(existing, ifMatch);
    const set: Record<string, unknown> = { updatedAt: new Date() };
    const unset: Record<string, ''> = {};
    if (patch.name !== undefined) {
      set.name = patch.name;
      set.nameLower = patch.name.toLowerCase();
    }
    for (const key of ['description', 'key', 'price'] as const) {
      if (patch[key] === null || (key === 'description' && patch[key] === '')) unset[key] = '';
      else if (patch[key] !== undefined && key !== 'key') set[key] = patch[key];
    }
    // A key's settings change; the key itself stays (POST /groups/{id}/key rotates it). A group without one gets one.
    if (patch.key) {
      set.key = existing.key?.id
        ? { id: existing.key.id, value: existing.key.value, enabled: patch.key.enabled, ...(patch.key.maxUses !== undefined ? { maxUses: patch.key.maxUses } : {}) }
        : await mintKey(id, patch.key);
    }
    for (const key of ['manualMembers', 'includeInactive', 'courses', 'paused'] as const) {
      if (patch[key] !== undefined) set[key] = patch[key];
    }
    try {
      await writeGroup(existing, { $set: set, $unset: unset });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw nameClash(patch.name ?? existing.name);
      throw err;
    }
    if (patch.isDefault === true) await setDefaultGroup(id);
    else if (patch.isDefault === false) await clearDefaultGroup(id);
    if (patch.key === null) await dropKeys(id);
    return { before: existing, after: await requireGroup(id) };
  });
  let jobId: string | undefined;
  const policyChanged =
    before.manualMembers !== after.manualMembers || before.includeInactive !== after.includeInactive || (before.paused && !after.paused);
  if (after.type === 'automatic' && !after.paused && policyChanged) jobId = await startGroupSync(scheduler, id, { actor });
  return { group: await getGroup(id), ...(jobId ? { jobId } : {}) };
}

/** POST /groups/{id}/key, under the group's lock so that a PATCH of the key's settings cannot undo it. */
export async function makeGroupKey(id: string, maxUses: number | undefined): Promise<KeyAnswer> {
  return withLocks([groupLock(id)], async () => rotateKey(await requireGroup(id), maxUses));
}

/** The group and everything about it: members, exclusions, rule versions, history. */
export async function deleteGroup(id: string, ifMatch?: string): Promise<void> {
  // Under the graph's lease: a rule naming this group cannot be stored between the check and the delete.
  await withLocks([groupLock(id), GRAPH_LOCK], async () => {
    if (ifMatch !== undefined) await checkGroupPrecondition(await requireGroup(id), ifMatch);
    const usedBy = (await loadGroupGraph()).usedBy(id);
    if (usedBy.length) {
      throw new ConflictError(
        `The group is named by the rule of ${usedBy.map((g) => `${JSON.stringify(g.name)} (${g.id})`).join(', ')}: change those rules first.`,
        usedBy.map((g) => ({ path: `usedBy.${g.id}`, message: `the rule of ${JSON.stringify(g.name)} names this group` })),
      );
    }
    const { deletedCount } = await GroupModel.collection.deleteOne({ _id: id } as never);
    if (deletedCount === 0) throw new NotFoundError(`No group with id ${id}.`);
  });
  // A deleted group is no one's default (a default-group document naming a missing group is read as none, too).
  await clearDefaultGroup(id);
  await Promise.all([forgetGroup(id), forgetGroupKeys(id), RuleVersionModel.collection.deleteMany({ group: id }), removeGroupState(id)]);
  await recordChanges({ deletedGroups: [id] });
}

/** The entity tag of the rule (GET /groups/{id}/rule): its version, which names the rule it holds. */
export const ruleEtag = (version: number): string => `"${version}"`;

/** The entity tag of GET /groups/{id}: a hash of that representation, so any change to it changes the tag. */
export const groupEtag = (view: GroupView): string => {
  // Who names the group is other groups' state: a change of their rules does not make this group's If-Match stale.
  const { usedBy: _others, ...own } = view;
  // Neither is the clock: the next time flip moves with users' data and time, not with the group's configuration.
  if (own.sync) {
    const { nextChangeAt: _time, ...sync } = own.sync;
    return representationEtag({ ...own, sync });
  }
  return representationEtag(own);
};

/** The ETag GET /groups/{id} would send now for this stored group. */
async function currentGroupEtag(doc: GroupRead): Promise<string> {
  // As the group's writers (admin, support) read it: with the key, and without the backlog, as before keys.
  return groupEtag(groupView(doc, (await readGroupStates([doc._id])).get(doc._id), undefined, await keyShown(doc, undefined)));
}

/**
 * PUT the group's rule: a new version (If-Match honoured), then a sync of the group.
 *
 * What If-Match compares to: the target is the rule, whose entity tag is `"<version>"` (the ETag of GET and PUT
 * /groups/{id}/rule, the `ruleVersion` of the group, the `version` of GET rule/versions), as API.md writes it.
 * The group's own current ETag (GET /groups/{id}) is accepted as well: the rule is part of that representation,
 * so a client that read the group may base the change on what it read. Comparison is strong; `*` means "the
 * group has a rule"; any other tag (stale, weak, or not an entity tag at all) is a 412.
 */
export async function putRule(
  id: string,
  rule: unknown,
  ifMatch: string | undefined,
  actor: string,
  scheduler: Scheduler,
): Promise<{ group: GroupView; version: number; jobId?: string; warnings: RuleIssue[] }> {
  if ((await requireGroup(id)).type !== 'automatic') throw new ConflictError('A manual group has no rule.');
  const checked = await checkRule(rule, id);
  // Under the group's lock (a lease across processes): the If-Match comparison, the version's insert and the
  // group's update are one step for every other writer of the group, in this process or another. A rule naming
  // groups is also stored under the graph's lease, and checked again there: two rules saved at once that would
  // close a cycle between them (A names B, B names A) are checked one after the other, so the second is refused.
  const { existing, version } = await withLocks([groupLock(id), ...(referencesOf(checked.rule).length ? [GRAPH_LOCK] : [])], async () => {
    if (referencesOf(checked.rule).length) await checkRule(rule, id);
    const existing = await requireGroup(id);
    if (existing.type !== 'automatic') throw new ConflictError('A manual group has no rule.');
    if (ifMatch !== undefined) {
      const current = [ruleEtag(existing.ruleVersion), await currentGroupEtag(existing)];
      if (!ifMatchHolds(ifMatch, current)) {
        throw new PreconditionFailedError(
          `If-Match names neither the current rule version ("${existing.ruleVersion}") nor the group's current ETag; read the group again and retry.`,
          undefined,
          { currentVersion: existing.ruleVersion },
        );
      }
    }
    const version = existing.ruleVersion + 1;
    const now = new Date();
    try {
      // Still an insert of a chosen `_id`: a writer that bypassed the lock cannot win the same version.
      await RuleVersionModel.collection.insertOne({ _id: ruleVersionId(id, version), group: id, version, rule: checked.rule, actor, createdAt: now } as never);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      throw new PreconditionFailedError(`The rule was changed by another request (version ${version} exists); read it again and retry.`, undefined, { currentVersion: version });
    }
    try {
      await writeGroup(existing, { $set: { rule: checked.rule, ruleVersion: version, updatedAt: now } });
    } catch (err) {
      // The version must not outlive its failed update (see discardUnfinishedRuleVersion, which the next reader
      // runs if this delete fails too).
      await RuleVersionModel.collection.deleteOne({ _id: ruleVersionId(id, version) } as never).catch(() => undefined);
      throw err;
    }
    return { existing, version };
  });
  const jobId = existing.paused ? undefined : await startGroupSync(scheduler, id, { actor, jobId: versionSyncJobId(id, version) });
  return { group: await getGroup(id), version, ...(jobId ? { jobId } : {}), warnings: checked.warnings };
}

export interface RuleVersionView {
  version: number;
  rule: RuleDocument;
  createdAt: string;
  actor?: string;
  current: boolean;
}

/** Newest first. */
export async function listRuleVersions(id: string, page: PageRequest): Promise<Page<RuleVersionView>> {
  const group = await requireGroup(id);
  const filter: Record<string, unknown> = { group: id };
  if (page.after !== undefined) filter.version = { $lt: Number(page.after) };
  const coll = RuleVersionModel.collection as unknown as Collection<RuleVersionDoc>;
  const docs = await coll.find(filter).sort({ version: -1 }).limit(page.limit + 1).toArray();
  const shown = docs.slice(0, page.limit);
  return {
    items: shown.map((d) => ({ version: d.version, rule: d.rule, createdAt: d.createdAt.toISOString(), ...(d.actor ? { actor: d.actor } : {}), current: d.version === group.ruleVersion })),
    nextCursor: docs.length > page.limit ? encodeCursor(String(shown[shown.length - 1]!.version)) : null,
  };
}

/** Names of the automatic groups whose rule reads the field (the directory refuses to delete such a field). */
export async function groupNamesUsingField(fieldKey: string): Promise<string[]> {
  const docs = await GroupModel.find({ type: 'automatic' }, { name: 1, rule: 1 }).lean<Array<Pick<GroupDoc, 'name' | 'rule'>>>();
  return docs.filter((d) => fieldKeysRead(d.rule).includes(fieldKey)).map((d) => d.name).sort();
}
