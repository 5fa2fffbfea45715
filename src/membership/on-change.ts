// Directory changes → membership, before the write request answers. Each changed user is re-evaluated only against
// the active automatic groups the change can affect (what the rule reads, plus status and type for the policies);
// a deleted user leaves every group. Reads are by `_id`, as the database adapter finds cheapest.
//
// A new user (created by PUT, batch or CSV import) also joins the default group, if one is set, with source
// `default`, in this same reaction: so before the write answers, and again by the open write's replay if it failed.
// Not added: a user excluded from the default group, an inactive user when the default group is automatic and
// leaves inactive users out (its next evaluation would take them out again), and anyone while the default group is
// paused (a pause stops every automatic change of its membership; those users are not added when it resumes).
// In an automatic default group a `default` member is a hand-added member: a user its rule selects joins as a
// rule member instead, and one it does not select stays or leaves by the group's `manualMembers` policy.
import { randomUUID } from 'node:crypto';
import type { DirectoryChange, PublishMeta } from '../directory/directory-change.js';
import type { Logger } from '../platform/logger.js';
import { readUsers } from '../directory/user-store.js';
import type { UserDoc } from '../directory/user.model.js';
import type { Metrics } from '../platform/metrics.js';
import { loadGroups, readRuleVersions, type DefaultGroup, type EvalGroup } from './active-groups.js';
import { netWins, reconcile, type Scope } from './reconcile.js';
import { changeAffects, EVERY_PATH } from './rule-reads.js';
import { changeReason } from './change-reasons.js';
import { countMembers } from './membership-store.js';
import { readUsersStanding } from './users-standing.js';
import { heldRemovalsMessage, type CurrentMembership, type SafetyValve } from './policy.js';
import { bumpCounts, markFailed, setCount, storedValveSizes } from './group-state.js';
import { eachLimited } from '../platform/each-limited.js';

export interface ChangeDeps {
  valve: SafetyValve;
  metrics?: Metrics;
  /** The writer's key and instant; fixed per directory write, so that its replay writes the same documents. */
  runKey?: string;
  at?: Date;
  /** The changed users as their writer stored them (PublishMeta.stored): not read again. */
  stored?: ReadonlyMap<string, UserDoc>;
  /** A replay of a reaction that failed part-way (PublishMeta.replay): the groups' counts are read again. */
  replay?: boolean;
  faults?: ReactionFaults;
}

export interface ChangeOutcome {
  users: number;
  added: number;
  removed: number;
  held: Record<string, number>;
  failed: Record<string, string>;
}

interface Changed {
  externalId: string;
  created: boolean;
  paths: Set<string>;
  actor: string;
}

function collapse(changes: readonly DirectoryChange[]): Map<string, Changed> {
  const byUser = new Map<string, Changed>();
  for (const c of changes) {
    let entry = byUser.get(c.externalId);
    if (!entry) byUser.set(c.externalId, (entry = { externalId: c.externalId, created: false, paths: new Set(), actor: c.actor }));
    entry.actor = c.actor;
    if (c.kind === 'user.created') entry.created = true;
    for (const p of c.changed) entry.paths.add(p);
  }
  return byUser;
}

/** The users as stored: those the writer handed over (stored), the others read. */
async function usersOf(ids: readonly string[], stored: ReadonlyMap<string, UserDoc> | undefined): Promise<Map<string, UserDoc>> {
  if (!stored) return readUsers(ids);
  const users = await readUsers(ids.filter((id) => !stored.has(id)));
  for (const id of ids) {
    const doc = stored.get(id);
    if (doc) users.set(id, doc);
  }
  return users;
}


/**
 * Faults to inject (tests pass one to start()): the next `failures` reactions throw before writing anything, as a
 * database that fails mid-request would make them.
 */
export interface ReactionFaults {
  failures: number;
}

/**
 * Membership follows a directory write (src/reactions.ts) before the request answers, timed
 * (autogroups_sync_duration_seconds{kind="change"}) and logged when it moved anyone. The write's id and instant name
 * the writer: a replay writes as the first reaction would have (same run key and instant), so a membership that a
 * failed reaction inserted before failing gets its history entry, once.
 */
export async function followDirectoryWrite(
  changes: readonly DirectoryChange[],
  meta: PublishMeta,
  deps: { valve: SafetyValve; metrics: Metrics; logger: Logger; faults?: ReactionFaults },
): Promise<void> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let outcome;
  try {
    outcome = await applyDirectoryChanges(changes, {
      valve: deps.valve,
      metrics: deps.metrics,
      runKey: `change:${meta.id}`,
      at: meta.at,
      ...(meta.stored ? { stored: meta.stored } : {}),
      ...(meta.replay ? { replay: true } : {}),
      ...(deps.faults ? { faults: deps.faults } : {}),
    });
  } catch (err) {
    deps.metrics.syncDuration.observe({ kind: 'change', outcome: 'failed' }, seconds());
    throw err;
  }
  deps.metrics.syncDuration.observe({ kind: 'change', outcome: 'completed' }, seconds());
  if (outcome.added || outcome.removed || Object.keys(outcome.failed).length || Object.keys(outcome.held).length) {
    deps.logger.info({ ...outcome, ms: Math.round(seconds() * 1000) }, 'membership follows directory changes');
  }
}

export async function applyDirectoryChanges(changes: readonly DirectoryChange[], deps: ChangeDeps): Promise<ChangeOutcome> {
  if (deps.faults && deps.faults.failures > 0) {
    deps.faults.failures--;
    throw new Error('injected fault: the membership reaction failed');
  }
  const byUser = collapse(changes);
  const result: ChangeOutcome = { users: byUser.size, added: 0, removed: 0, held: {}, failed: {} };
  if (byUser.size === 0) return result;
  const now = deps.at ?? new Date();
  const ctx = { runKey: deps.runKey ?? `change:${randomUUID()}`, at: now, ...(deps.metrics ? { metrics: deps.metrics } : {}) };
  const seen: RulesSeen = {};
  const outcome = await reconcile(changeScope(byUser, now, deps.valve, result, deps.stored, deps.replay === true, seen), { write: ctx, valve: deps.valve });
  // A rule stored after this reaction read the rules and before its writes landed has a sync that may have read the
  // memberships before them: that sync cannot see these writes, which followed the older rule, and nothing else
  // would evaluate these users again. So the versions are read again once the writes are done; if one moved, the
  // users are evaluated again with the rules as they are now (and so on, until no rule moved meanwhile). A rule
  // stored after that read has its sync read the memberships after these writes, and it sees them.
  if (seen.versions && (await rulesMovedSince(seen.versions))) {
    const again = await applyDirectoryChanges(
      [...byUser.values()].map((c) => ({ kind: 'user.changed' as const, externalId: c.externalId, changed: [EVERY_PATH], actor: c.actor })),
      { valve: deps.valve, ...(deps.metrics ? { metrics: deps.metrics } : {}) },
    );
    outcome.added += again.added;
    outcome.removed += again.removed;
    Object.assign(outcome.held, again.held);
    Object.assign(outcome.failed, again.failed);
  }
  return outcome;
}

/** The rule versions a reaction's pass evaluated, filled in when it reads the groups. */
interface RulesSeen {
  versions?: ReadonlyMap<string, number>;
}

async function rulesMovedSince(seen: ReadonlyMap<string, number>): Promise<boolean> {
  const now = await readRuleVersions();
  for (const [groupId, version] of seen) if (now.has(groupId) && now.get(groupId) !== version) return true;
  return false;
}

/** Whether the default group takes a new user at all (see the top of this file). */
function takesDefault(group: DefaultGroup, active: boolean): boolean {
  if (group.paused) return false;
  return group.type === 'manual' || active || group.includeInactive;
}

/**
 * The changed-users scope: each user against the active automatic groups the change can affect (a new user against
 * all); a deleted user out of every group.
 */
function changeScope(
  byUser: Map<string, Changed>,
  now: Date,
  valve: SafetyValve,
  result: ChangeOutcome,
  stored: ReadonlyMap<string, UserDoc> | undefined,
  replay: boolean,
  seen: RulesSeen,
): Scope<ChangeOutcome> {
  /** Groups whose rule reads what changed for some user: only their failures are this change's to report. */
  const touched = new Set<string>();
  /** The default group, when new users may have joined it. */
  const defaultJoins: string[] = [];
  return {
    kind: 'change',
    now,
    actor: [...byUser.values()][0]?.actor ?? 'directory',
    // A single user's change never trips the valve; a batch that would take many out of a group at once may.
    minRemovalsWeighed: 2,
    async read() {
      const [{ active: groups, versions, defaultGroup, graph }, users] = await Promise.all([loadGroups(), usersOf([...byUser.keys()], stored)]);
      seen.versions = versions;
      const allGroups = [...versions.keys()];
      // Which groups each user is evaluated against; which (group, user) pairs must be read.
      const affected = new Map<string, Set<string>>();
      const pairs: Array<[string, string]> = [];
      for (const change of byUser.values()) {
        if (!users.has(change.externalId)) {
          for (const g of allGroups) pairs.push([g, change.externalId]);
          continue;
        }
        const set = new Set<string>();
        for (const g of groups) {
          // A replay also re-evaluates the groups naming other groups: the failed reaction may have moved the user in a
          // named group and died before the groups naming it followed, and this pass would not see that move.
          if (change.created || changeAffects(g.reads, g, [...change.paths]) || (replay && g.compiled?.uses.groups.size)) {
            set.add(g.id);
            touched.add(g.id);
            // A new user has no memberships yet: nothing to read, an insert that finds one is a no-op.
            if (!change.created) pairs.push([g.id, change.externalId]);
          }
        }
        affected.set(change.externalId, set);
      }
      // New users the default group may take (its exclusions are checked below, with the rest).
      const joinsDefault = new Set<string>();
      if (defaultGroup) defaultJoins.push(defaultGroup._id);
      for (const change of byUser.values()) {
        const user = users.get(change.externalId);
        if (change.created && user && defaultGroup && takesDefault(defaultGroup, user.status === 'active')) joinsDefault.add(user._id);
      }
      const evaluatedIds = [...affected.keys()].filter((id) => affected.get(id)!.size > 0 || joinsDefault.has(id));
      // Every membership of the users with pairs to read (a group naming one this change moves is evaluated too).
      const standing = await readUsersStanding([...new Set(pairs.map(([, u]) => u))], evaluatedIds);
      return {
        groups,
        graph,
        async feed(planner) {
          for (const change of byUser.values()) {
            const user = users.get(change.externalId);
            if (!user) {
              const mine = new Map<string, CurrentMembership>();
              for (const g of allGroups) {
                const m = standing.current(g, change.externalId);
                if (m) mine.set(g, m);
              }
              planner.deletedUser(change.externalId, mine, change.actor, versions);
              continue;
            }
            const only = affected.get(change.externalId)!;
            if (only.size > 0) {
              planner.user(user, {
                actor: change.actor,
                only: (g: EvalGroup) => only.has(g.id),
                because: (g) => changeReason(user, change.paths, g.reads),
                groupName: (g) => graph.name(g),
                current: (g) => standing.current(g, change.externalId),
                excluded: (g) => standing.excluded(g, change.externalId),
              });
            }
            // After the rule's evaluation, so that a user an automatic default group's rule selects joins by it.
            if (joinsDefault.has(user._id) && !standing.excluded(defaultGroup!._id, user._id)) {
              planner.defaultMember(defaultGroup!._id, user._id, change.actor);
            }
          }
        },
      };
    },
    async valveSizes(groupIds) {
      // The stored member count: a change does not read whole groups.
      return storedValveSizes(groupIds);
    },
    async settle(outcome) {
      for (const n of outcome.created.values()) result.added += n;
      for (const n of outcome.deleted.values()) result.removed += n;
      if (replay) {
        // The failed first reaction may have stored part of its writes and counted none of them: the groups it could
        // have written are counted again, whatever this replay found left to do.
        const written = new Set([...touched, ...outcome.planned.keys(), ...outcome.removes.map((r) => r.groupId), ...defaultJoins]);
        await eachLimited([...written], 4, async (g) => setCount(g, await countMembers(g), now));
      } else {
        await bumpCounts(netWins(outcome), now);
      }
      // Held removals: those members stay, and the group says why until an admin confirms with a group sync.
      for (const [groupId, n] of outcome.held) {
        result.held[groupId] = n;
        const members = outcome.sizes.get(groupId)?.members ?? 0;
        await markFailed(groupId, heldRemovalsMessage(valve, n, members), n);
      }
      for (const [groupId, message] of outcome.failures) {
        if (!touched.has(groupId)) continue;
        result.failed[groupId] = message;
        await markFailed(groupId, message);
      }
      return result;
    },
  };
}
