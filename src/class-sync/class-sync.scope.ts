// A course's class groups as a scope of the one reconcile sequence (membership/reconcile.ts): the same planner,
// policy, safety valve, history and store as every rule sync, with the group's own source `class`.
//
// The desired membership comes from the course's enrolments (desired-groups.ts), read as a predicate on the user's
// facts, so the planner decides exactly as for a rule: a student in a class joins its group, one who left it leaves,
// and a member added by hand stays or leaves by the group's `keep-staff` policy (staff stay, learners leave).
// Reading the scope creates the groups the students call for that do not exist yet; a group whose last student left
// stays, empty.
import type { UserDoc } from '../directory/user.model.js';
import { readUsers, usersCollection } from '../directory/user-store.js';
import type { GroupDoc } from '../groups/group.model.js';
import { ensureScopedGroups } from '../groups/scoped-groups.js';
import type { EvalGroup } from '../membership/active-groups.js';
import { bumpCounts, readMemberCounts, setCount, storedValveSizes } from '../membership/group-state.js';
import { membershipId, type MembershipDoc } from '../membership/membership.model.js';
import { exclusions, memberships } from '../membership/membership-store.js';
import { currentMembershipOf, type CurrentMembership } from '../membership/policy.js';
import type { Scope, ScopeInput, ValveSize } from '../membership/reconcile.js';
import { db } from '../platform/db/index.js';
import { desiredGroupKeys, desiredGroupNames } from './desired-groups.js';

const PROGRESS_EVERY = 500;

export interface ClassScopeOptions {
  course: string;
  now: Date;
  actor: string;
  /** Only these users (a directory change); every student and member of the course's groups when absent. */
  users?: readonly string[];
  /** The writer's key: memberships it inserted in an interrupted earlier run have their history completed. */
  runKey?: string;
  onProgress?: (done: number, total: number) => Promise<void>;
}

export interface ClassScopeOutcome {
  course: string;
  /** The course's class groups after the sync. */
  groups: number;
  groupsCreated: number;
  added: number;
  removed: number;
  /** Removals the safety valve held, per group id. */
  held: Record<string, number>;
}

/** The course's group as the planner sees it: selected when the user's enrolment names it. */
function classEvalGroup(course: string, g: GroupDoc): EvalGroup {
  const key = g.nameLower;
  return {
    id: g._id,
    name: g.name,
    paused: false,
    ruleVersion: 0,
    includeInactive: g.includeInactive,
    manualMembers: g.manualMembers,
    own: {
      source: 'class',
      added: `a student of course ${course} whose enrolment names ${g.name} (class group sync)`,
      left: `no longer a student of course ${course} whose enrolment names ${g.name} (class group sync)`,
    },
    compiled: {
      predicate: (user) => desiredGroupKeys(user.enrollments?.[course]).has(key),
      mongoFilter: () => null,
      uses: { fields: new Set(), courses: new Set([course]), groups: new Set(), timeDependent: false },
    },
    reads: { paths: new Set([`enrollments.${course}`, 'status', 'type']), all: false },
  };
}

const describe = (course: string) => (name: string) => `Kept by the class group sync of course ${course}: its students whose enrolment names ${name}.`;

export function classScope(opts: ClassScopeOptions): Scope<ClassScopeOutcome> {
  const { course } = opts;
  const path = `enrollments.${course}`;
  const result: ClassScopeOutcome = { course, groups: 0, groupsCreated: 0, added: 0, removed: 0, held: {} };
  /** Members per group before the plan (whole groups only when the scope is the whole course). */
  const before = new Map<string, number>();
  return {
    kind: 'class',
    now: opts.now,
    actor: opts.actor,
    // A single user's change never trips the valve, as for any directory change.
    ...(opts.users ? { minRemovalsWeighed: 2 } : {}),
    async read(): Promise<ScopeInput> {
      // 1. The students (whole course) or the changed users.
      let students: UserDoc[];
      if (opts.users) {
        students = [...(await readUsers(opts.users)).values()];
      } else {
        students = [];
        for await (const doc of usersCollection().find({ [`${path}.status`]: { $exists: true } }).batchSize(2000)) students.push(doc);
      }
      // 2. The groups the students call for, made if missing.
      const names = new Set<string>();
      for (const s of students) for (const n of desiredGroupNames(s.enrollments?.[course])) names.add(n);
      const { groups: docs, created } = await ensureScopedGroups(course, names, describe(course), opts.actor);
      result.groups = docs.length;
      result.groupsCreated = created;
      const groups = docs.map((g) => classEvalGroup(course, g));
      const ids = groups.map((g) => g.id);
      // 3. Current memberships and exclusions: of whole groups, or of the changed users only.
      const current = new Map<string, CurrentMembership>();
      const own: MembershipDoc[] = [];
      const memberOf = new Map<string, string[]>();
      // A changed user's memberships by user (one indexed read each), kept to this course's groups: cheaper than
      // a read by _id per (group, user) pair when the course has hundreds of groups.
      const courseGroup = new Set(ids);
      const found = opts.users
        ? (await db().readWhereIn(memberships(), 'externalId', opts.users)).filter((m) => courseGroup.has(m.group))
        : await db().readWhereIn(memberships(), 'group', ids);
      for (const m of found) {
        current.set(m._id, currentMembershipOf(m));
        let list = memberOf.get(m.externalId);
        if (!list) memberOf.set(m.externalId, (list = []));
        list.push(m.group);
        before.set(m.group, (before.get(m.group) ?? 0) + 1);
        if (opts.runKey && m.run === opts.runKey) own.push(m);
      }
      const excluded = new Set(
        (opts.users
          ? await db().readWhereIn(exclusions(), 'externalId', opts.users, { projection: { _id: 1 } })
          : await db().readWhereIn(exclusions(), 'group', ids, { projection: { _id: 1 } })
        ).map((e) => e._id),
      );
      const byKey = new Map(docs.map((g) => [g.nameLower, g._id]));
      const ctxFor = (doc: UserDoc) => {
        // Only the groups the user is called to or already in: every other decision is "nothing to do".
        const only = new Set(memberOf.get(doc._id) ?? []);
        for (const k of desiredGroupKeys(doc.enrollments?.[course])) {
          const id = byKey.get(k);
          if (id) only.add(id);
        }
        return {
          actor: opts.actor,
          only: (g: EvalGroup) => only.has(g.id),
          current: (g: string) => current.get(membershipId(g, doc._id)),
          excluded: (g: string) => excluded.has(membershipId(g, doc._id)),
        };
      };
      const total = students.length;
      return {
        groups,
        own,
        ownReason: () => `a student of course ${course} (class group sync)`,
        async feed(planner, flush) {
          const seen = new Set<string>();
          let done = 0;
          for (const doc of students) {
            seen.add(doc._id);
            planner.user(doc, ctxFor(doc));
            await flush();
            if (opts.onProgress && ++done % PROGRESS_EVERY === 0) await opts.onProgress(done, total);
          }
          // Members who are not (or no longer) students of the course, or no longer exist.
          const rest = [...memberOf.keys()].filter((id) => !seen.has(id));
          const restDocs = await readUsers(rest);
          for (const id of rest) {
            const doc = restDocs.get(id);
            if (doc) planner.user(doc, ctxFor(doc));
            else {
              const mine = new Map(memberOf.get(id)!.map((g) => [g, current.get(membershipId(g, id))!]));
              planner.deletedUser(id, mine, opts.actor, new Map(ids.map((g) => [g, 0])));
            }
          }
          await opts.onProgress?.(total, total);
        },
      };
    },
    async valveSizes(groupIds): Promise<Map<string, ValveSize>> {
      if (!opts.users) return new Map(groupIds.map((g) => [g, { members: before.get(g) ?? 0, size: before.get(g) ?? 0 }]));
      // A change does not read whole groups: the stored member count.
      return storedValveSizes(groupIds);
    },
    async settle(outcome) {
      for (const n of outcome.created.values()) result.added += n;
      for (const n of outcome.deleted.values()) result.removed += n;
      for (const [g, n] of outcome.held) result.held[g] = n;
      if (opts.users) {
        const deltas = new Map<string, number>();
        for (const [g, n] of outcome.created) if (n) deltas.set(g, (deltas.get(g) ?? 0) + n);
        for (const [g, n] of outcome.deleted) if (n) deltas.set(g, (deltas.get(g) ?? 0) - n);
        await bumpCounts(deltas, opts.now);
      } else {
        // Whole groups were read: their exact sizes, written where they differ from the stored count (a course
        // has hundreds of groups, and on the embedded database each update is a whole-document rewrite).
        const removed = new Map<string, number>();
        for (const r of outcome.removes) removed.set(r.groupId, (removed.get(r.groupId) ?? 0) + 1);
        const stored = await readMemberCounts(outcome.groups.map((g) => g.id));
        for (const g of outcome.groups) {
          const adds = outcome.planned.get(g.id) ?? 0;
          const removes = removed.get(g.id) ?? 0;
          const count = (before.get(g.id) ?? 0) + adds - removes;
          if (adds || removes || stored.get(g.id) !== count) await setCount(g.id, count, adds || removes ? opts.now : undefined);
        }
      }
      return result;
    },
  };
}
