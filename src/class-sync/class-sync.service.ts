// A course's class group sync: its settings (PUT|GET /courses/{code}/class-sync), and the sync itself, run as a
// scope of the one reconcile sequence (class-sync.scope.ts) at enabling, nightly, on POST /groups/{id}/sync of any
// of its groups, and for the changed users when an enrolment of the course changes (class-sync.listener.ts).
//
// A sync runs only while the settings are `active`: enabled and before `syncUntil`, which is `endsAt` or 5 months
// after `enabledAt`, whichever comes first. Disabling, or passing `syncUntil`, leaves groups and members as they are.
import type { GroupSyncOptions } from '../membership/group-sync.js';
import { randomUUID } from 'node:crypto';
import { courseExists } from '../directory/courses.service.js';
import { GroupModel } from '../groups/group.model.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { SafetyValve } from '../membership/policy.js';
import { reconcile } from '../membership/reconcile.js';
import { changedSince, feedPosition, letGo } from '../membership/changed-meanwhile.js';
import { userLock } from '../directory/lock-keys.js';
import { withLocks } from '../platform/db/index.js';
import { ConflictError, NotFoundError } from '../platform/errors.js';
import type { Metrics } from '../platform/metrics.js';
import { ClassSyncModel, type ClassSyncDoc } from './class-sync.model.js';
import { classScope, type ClassScopeOutcome } from './class-sync.scope.js';

export const CLASS_SYNC_JOB = 'class-sync';

export interface ClassSyncJobData {
  course: string;
  confirmRemovals?: boolean;
}

export type ClassSyncState = 'active' | 'ended' | 'disabled';

export interface ClassSyncView {
  course: string;
  enabled: boolean;
  enabledAt: string | null;
  endsAt: string | null;
  syncUntil: string | null;
  state: ClassSyncState;
  lastSyncAt: string | null;
  /** The course's class groups. */
  groups: number;
  lastError?: string;
  heldRemovals?: number;
}

export interface ClassSyncInput {
  enabled: boolean;
  /** null clears it; absent leaves it as it is. */
  endsAt?: Date | null;
}

/** How long a sync keeps running after it is turned on, unless `endsAt` comes first. */
const SYNC_MONTHS = 5;

/** `enabledAt` plus 5 calendar months (UTC), clamped to the month's last day (31 Oct → 31 Mar, 30 Sep → 28/29 Feb). */
export function fiveMonthsAfter(at: Date): Date {
  const d = new Date(at.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + SYNC_MONTHS);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

export function syncUntilOf(doc: Pick<ClassSyncDoc, 'enabledAt' | 'endsAt'>): Date | null {
  if (!doc.enabledAt) return doc.endsAt ?? null;
  const limit = fiveMonthsAfter(doc.enabledAt);
  return doc.endsAt && doc.endsAt.getTime() < limit.getTime() ? doc.endsAt : limit;
}

export function stateOf(doc: ClassSyncDoc | null, now: Date): ClassSyncState {
  if (!doc?.enabled) return 'disabled';
  const until = syncUntilOf(doc);
  return until && now.getTime() >= until.getTime() ? 'ended' : 'active';
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

function view(course: string, doc: ClassSyncDoc | null, groups: number, now: Date): ClassSyncView {
  return {
    course,
    enabled: doc?.enabled ?? false,
    enabledAt: iso(doc?.enabledAt),
    endsAt: iso(doc?.endsAt),
    syncUntil: doc ? iso(syncUntilOf(doc)) : null,
    state: stateOf(doc, now),
    lastSyncAt: iso(doc?.lastSyncAt),
    groups,
    ...(doc?.lastError ? { lastError: doc.lastError } : {}),
    ...(doc?.heldRemovals ? { heldRemovals: doc.heldRemovals } : {}),
  };
}

async function requireCourse(code: string): Promise<void> {
  if (!(await courseExists(code))) throw new NotFoundError(`No course with code ${code}.`, [{ path: 'code', message: 'no such course' }]);
}

const readSettings = (course: string) => ClassSyncModel.findById(course).lean<ClassSyncDoc>();

export async function getClassSync(course: string, now: Date): Promise<ClassSyncView> {
  await requireCourse(course);
  const [doc, groups] = await Promise.all([readSettings(course), GroupModel.countDocuments({ scope: course })]);
  return view(course, doc, groups, now);
}

/** Queues a sync of the course's class groups. */
export async function startClassSync(scheduler: Scheduler, course: string, opts: { actor: string; confirmRemovals?: boolean; jobId?: string }): Promise<string> {
  const data: ClassSyncJobData = { course, ...(opts.confirmRemovals ? { confirmRemovals: true } : {}) };
  return scheduler.enqueue(CLASS_SYNC_JOB, data, { actor: opts.actor, jobId: opts.jobId ?? `${CLASS_SYNC_JOB}:${course}:${randomUUID()}` });
}

/**
 * PUT: turns the sync on or off, sets or clears `endsAt`. Turning it on (from off, or for the first time) sets
 * `enabledAt` to now and starts a sync; a PUT that leaves it on keeps `enabledAt`, so `syncUntil` does not move.
 */
export async function putClassSync(course: string, input: ClassSyncInput, actor: string, scheduler: Scheduler, now: Date): Promise<{ view: ClassSyncView; created: boolean; jobId?: string }> {
  await requireCourse(course);
  const existing = await readSettings(course);
  const turnedOn = input.enabled && !existing?.enabled;
  const enabledAt = turnedOn ? now : existing?.enabledAt;
  const endsAt = input.endsAt !== undefined ? input.endsAt : (existing?.endsAt ?? null);
  await ClassSyncModel.collection.updateOne(
    { _id: course } as never,
    {
      $set: { enabled: input.enabled, updatedAt: now, ...(enabledAt ? { enabledAt } : {}), ...(endsAt ? { endsAt } : {}) },
      ...(endsAt ? {} : { $unset: { endsAt: '' } }),
    },
    { upsert: true },
  );
  const stored = await readSettings(course);
  const jobId = turnedOn && stateOf(stored, now) === 'active' ? await startClassSync(scheduler, course, { actor }) : undefined;
  const groups = await GroupModel.countDocuments({ scope: course });
  return { view: view(course, stored, groups, now), created: !existing, ...(jobId ? { jobId } : {}) };
}

/** POST /groups/{id}/sync of a course's class group: a sync of the course's class groups, while it is active. */
export async function startClassSyncOfGroup(scheduler: Scheduler, course: string, opts: { actor: string; confirmRemovals?: boolean; now: Date }): Promise<string> {
  const state = stateOf(await readSettings(course), opts.now);
  if (state !== 'active') {
    throw new ConflictError(
      `This group is kept by the class group sync of course ${course}, which is ${state}; ` +
        `turn it on (PUT /api/v1/courses/${course}/class-sync {"enabled": true}) to sync its groups.`,
    );
  }
  return startClassSync(scheduler, course, { actor: opts.actor, ...(opts.confirmRemovals ? { confirmRemovals: true } : {}) });
}

/** What a class sync job passes: a group sync's (one job, one instant, one valve), and the calendar's now. */
export type ClassSyncRunOptions = GroupSyncOptions & { now: Date };

export type ClassSyncResult = (ClassScopeOutcome & { heldRemovals?: number }) | { course: string; skipped: ClassSyncState | 'deleted' };

/** One sync of the course's class groups (the job's work); skipped unless the sync is active now. */
export async function runClassSync(course: string, opts: ClassSyncRunOptions): Promise<ClassSyncResult> {
  const settings = await readSettings(course);
  if (!(await courseExists(course))) return { course, skipped: 'deleted' };
  const state = stateOf(settings, opts.now);
  if (state !== 'active') return { course, skipped: state };
  const scope = classScope({ course, now: opts.at, actor: opts.actor, runKey: opts.jobId, ...(opts.progress ? { onProgress: opts.progress } : {}) });
  const ctx = { runKey: opts.jobId, at: opts.at, ...(opts.metrics ? { metrics: opts.metrics } : {}) };
  const position = await feedPosition(opts.jobId);
  const outcome = await reconcile(scope, { write: ctx, valve: opts.valve, confirmRemovals: opts.confirmRemovals });
  // Students whose enrolment changed while the sync ran: evaluated again, now that its writes are done, under their
  // locks as their own reactions are (membership/changed-meanwhile.ts says why).
  const { users } = await changedSince(position);
  if (users.size) {
    await withLocks([...users].map(userLock), () =>
      applyClassChange(course, [...users], { runKey: `${opts.jobId}:recheck`, at: new Date(), actor: opts.actor, valve: opts.valve, ...(opts.metrics ? { metrics: opts.metrics } : {}) }),
    );
  }
  await letGo(opts.jobId);
  const held = Object.values(outcome.held).reduce((a, b) => a + b, 0);
  await recordSync(course, opts.at, held ? heldMessage(course, opts.valve, outcome) : undefined, held);
  return { ...outcome, ...(held ? { heldRemovals: held } : {}) };
}

function heldMessage(course: string, valve: SafetyValve, outcome: ClassScopeOutcome): string {
  const held = Object.values(outcome.held).reduce((a, b) => a + b, 0);
  const groups = Object.keys(outcome.held).length;
  return (
    `Safety valve: removing ${held} members from ${groups} class group${groups > 1 ? 's' : ''} of course ${course} at once would take more than ` +
    `${Math.round(valve.share * 100)}% of a group; additions were applied and those removals are held. Check the enrolment feed, then confirm with ` +
    'POST /api/v1/groups/{id}/sync {"confirmRemovals": true} on any of the course\'s groups.'
  );
}

/** The last sync's instant, and why it left removals undone (cleared by a sync that did not). */
async function recordSync(course: string, at: Date, error: string | undefined, held: number): Promise<void> {
  await ClassSyncModel.collection.updateOne(
    { _id: course } as never,
    error ? { $set: { lastSyncAt: at, lastError: error, heldRemovals: held } } : { $set: { lastSyncAt: at }, $unset: { lastError: '', heldRemovals: '' } },
  );
}

/** The courses whose sync is active now (for the nightly run and directory changes). */
export async function activeClassSyncCourses(now: Date): Promise<string[]> {
  const docs = await ClassSyncModel.find({ enabled: true }).lean<ClassSyncDoc[]>();
  return docs.filter((d) => stateOf(d, now) === 'active').map((d) => d._id);
}

/** Changed users of a course, as a directory change applies them (before the write answers). */
export async function applyClassChange(course: string, users: readonly string[], opts: { runKey: string; at: Date; actor: string; valve: SafetyValve; metrics?: Metrics }): Promise<ClassScopeOutcome> {
  const ctx = { runKey: opts.runKey, at: opts.at, ...(opts.metrics ? { metrics: opts.metrics } : {}) };
  const outcome = await reconcile(classScope({ course, now: opts.at, actor: opts.actor, users }), { write: ctx, valve: opts.valve });
  const held = Object.values(outcome.held).reduce((a, b) => a + b, 0);
  if (held) await ClassSyncModel.collection.updateOne({ _id: course } as never, { $set: { lastError: heldMessage(course, opts.valve, outcome), heldRemovals: held } });
  return outcome;
}
