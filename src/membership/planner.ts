// The one evaluation loop: users in, the difference to the desired membership out. Used by directory changes, group
// syncs, partitions of the full sync and previews alike; it reads and writes nothing itself.
import type { UserDoc } from '../directory/user.model.js';
import { toUserFacts } from '../directory/user-facts.js';
import type { UserFacts } from '../rules/index.js';
import type { EvalGroup } from './active-groups.js';
import { decide, type CurrentMembership, type UserStanding } from './policy.js';
import type { MembershipSource } from './membership.model.js';
import { GroupGraph } from '../groups/group-graph.js';
import { membershipReason, USER_DELETED } from './change-reasons.js';
import { flipReason } from '../rules/next-change.js';
import type { PlannedFlip } from './time-flips.js';

export interface PlannedAdd {
  groupId: string;
  externalId: string;
  ruleVersion: number;
  reason: string;
  actor: string;
  /** `rule` when absent; `default` for a new user's membership of the default group. */
  source?: MembershipSource;
  /** Planned after the pass evaluated every group (a default group's new member): its dependents did not see it. */
  afterPass?: boolean;
}

export interface PlannedRemove {
  groupId: string;
  externalId: string;
  membership: CurrentMembership;
  /** The rule version the decision was made with. */
  ruleVersion: number;
  reason: string;
  actor: string;
}

export interface UserContext {
  /** The user's current membership of a group, if any. */
  current(groupId: string): CurrentMembership | undefined;
  excluded(groupId: string): boolean;
  /** Who caused this evaluation (history's actor). */
  actor: string;
  /** Only these groups (a change that cannot affect the others); all when absent. */
  only?: (group: EvalGroup) => boolean;
  /**
   * What changed that the group's rule reads, in words ("department changed to Ops"): a decision the rule made is
   * recorded with it, so that history says why. Absent, or nothing for that group: the rule's reason alone.
   */
  because?: (group: EvalGroup) => string | undefined;
  /**
   * The user's membership of any group, for `memberOf` conditions, where `current` does not cover every group the
   * rules name (a scope that reads only its own groups' memberships). Absent: `current` answers.
   */
  memberOf?: (groupId: string) => boolean;
  /**
   * Groups whose membership of this user changed just before this evaluation (a cascade's cause): a group whose rule
   * names one of them is evaluated even where `only` leaves it out, as is one naming a group this pass changes.
   */
  changed?: ReadonlySet<string>;
  /** A group's name, for history's reason of a decision a membership change caused ("joined VIP"). */
  groupName?: (groupId: string) => string | undefined;
}

export class Planner {
  private readonly adds: PlannedAdd[] = [];
  private readonly removes: PlannedRemove[] = [];
  private readonly errors = new Map<string, string>();
  /** Per (time-dependent group, evaluated user): the next time flip, or null (none) — kept with the data by reconcile. */
  private readonly flips: PlannedFlip[] = [];
  private readonly active: EvalGroup[];
  /** Whether some group's rule names another group (its facts then carry the pass's membership view). */
  private readonly namesGroups: boolean = false;
  /** Per group: users evaluated (a preview's and a partition's bookkeeping). */
  readonly evaluated = new Map<string, number>();

  constructor(
    groups: readonly EvalGroup[],
    private readonly now: Date,
  ) {
    for (const g of groups) if (!g.compiled) this.errors.set(g.id, g.compileError ?? 'the rule cannot be evaluated');
    this.active = groups.filter((g) => g.compiled);
    // Groups of groups: each group after the groups its rule names, so that a user's membership of a named group is
    // decided, in this pass, before a rule reads it (one evaluation per group and user).
    if (this.active.some((g) => g.compiled!.uses.groups?.size)) {
      const graph = new GroupGraph(this.active.map((g) => ({ id: g.id, name: g.name, references: [...(g.compiled!.uses.groups ?? [])] })));
      const rank = new Map(graph.sorted(this.active.map((g) => g.id)).map((id, i) => [id, i]));
      this.active.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
      this.namesGroups = true;
    }
  }

  /** Evaluates one existing user against every group (or those `ctx.only` keeps). */
  user(doc: UserDoc, ctx: UserContext): void {
    this.evaluate(doc._id, { active: doc.status === 'active', staff: doc.type === 'staff' }, () => toUserFacts(doc), ctx);
  }

  /**
   * Evaluates one existing user from what a rule reads: `facts` is called at most once, and only when a rule's
   * answer can matter (it throws when the user cannot be read as facts).
   */
  evaluate(externalId: string, standing: UserStanding, facts: () => UserFacts, ctx: UserContext): void {
    let built: UserFacts | undefined;
    let factsError: string | undefined;
    // The user's memberships as this pass decided them so far (groups evaluated before), over the stored ones.
    const decided = new Map<string, boolean>();
    const moved = new Set<string>(ctx.changed ?? []);
    const memberOf = (g: string): boolean => decided.get(g) ?? (ctx.memberOf ? ctx.memberOf(g) : ctx.current(g) !== undefined);
    for (const group of this.active) {
      if (this.errors.has(group.id)) continue;
      const names = group.compiled!.uses.groups;
      const cause = moved.size && names?.size ? [...names].filter((g) => moved.has(g)) : [];
      if (ctx.only && !ctx.only(group) && cause.length === 0) continue;
      this.evaluated.set(group.id, (this.evaluated.get(group.id) ?? 0) + 1);
      const current = ctx.current(group.id);
      const excluded = ctx.excluded(group.id);
      // The rule is evaluated only where its answer can matter.
      const needsRule = !excluded && (standing.active || group.includeInactive);
      let matches = false;
      if (needsRule) {
        try {
          if (!built && !factsError) {
            try {
              built = facts();
            } catch (err) {
              factsError = err instanceof Error ? err.message : String(err);
            }
          }
          if (factsError) throw new Error(`user ${externalId} cannot be read as facts: ${factsError}`);
          if (this.namesGroups && built!.memberOf !== memberOf) built = { ...built!, memberOf };
          matches = group.compiled!.predicate(built!, this.now);
          if (group.nextChange) this.flip(group, externalId, built!);
        } catch (err) {
          this.fail(group.id, `the rule failed for user ${externalId}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
      }
      // Not evaluated by the rule (excluded, or inactive where inactive users are left out): time cannot move them.
      if (!needsRule && group.nextChange) this.flips.push({ groupId: group.id, externalId, at: null, reason: '', ruleVersion: group.ruleVersion });
      let decision = decide(group, standing, matches, current, excluded);
      if ((decision.action === 'add' || decision.action === 'remove') && decision.byRule) {
        const named = (g: string) => ctx.groupName?.(g) ?? this.active.find((a) => a.id === g)?.name ?? g;
        const because = [ctx.because?.(group), ...cause.map((g) => membershipReason(memberOf(g), named(g)))].filter(Boolean).join(', ');
        if (because) decision = { ...decision, reason: `${decision.reason}: ${because}` };
      }
      if (this.namesGroups) {
        if (decision.action === 'add' || decision.action === 'remove') moved.add(group.id);
        decided.set(group.id, decision.action === 'add' ? true : decision.action === 'remove' ? false : current !== undefined);
      }
      this.record(group, externalId, decision, current, ctx.actor);
    }
  }

  /** A user who no longer exists: out of every group they are in (`memberships`: group id → membership). */
  deletedUser(externalId: string, memberships: ReadonlyMap<string, CurrentMembership>, actor: string, groupVersions: ReadonlyMap<string, number>): void {
    for (const [groupId, current] of memberships) {
      this.removes.push({ groupId, externalId, membership: current, ruleVersion: groupVersions.get(groupId) ?? 0, reason: USER_DELETED, actor });
    }
  }

  private record(group: EvalGroup, externalId: string, decision: ReturnType<typeof decide>, current: CurrentMembership | undefined, actor: string): void {
    if (decision.action === 'add') {
      this.adds.push({ groupId: group.id, externalId, ruleVersion: group.ruleVersion, reason: decision.reason, actor, ...(group.own ? { source: group.own.source } : {}) });
    } else if (decision.action === 'remove' && current) {
      this.removes.push({ groupId: group.id, externalId, membership: current, ruleVersion: group.ruleVersion, reason: decision.reason, actor });
    }
  }

  /**
   * A new user joins the default group (source `default`), unless this evaluation already adds them to it by its
   * rule: a member the rule selects is a rule member, as when one already in with another source keeps that source.
   */
  defaultMember(groupId: string, externalId: string, actor: string): void {
    if (this.adds.some((a) => a.groupId === groupId && a.externalId === externalId)) return;
    this.adds.push({ groupId, externalId, ruleVersion: 0, reason: 'new user joins the default group', actor, source: 'default', afterPass: true });
  }

  /** The user's next time flip in a time-dependent group, from the facts the rule was just evaluated on. */
  private flip(group: EvalGroup, externalId: string, facts: UserFacts): void {
    const change = group.nextChange!(facts, group.compiled!.predicate, this.now);
    this.flips.push({
      groupId: group.id,
      externalId,
      at: change?.at ?? null,
      reason: change ? flipReason(change.leaf, change.leafResult) : '',
      ruleVersion: group.ruleVersion,
    });
  }

  /** A rule that throws: its group is left as it is (members kept); the other groups go on. */
  private fail(groupId: string, message: string): void {
    this.errors.set(groupId, message);
    dropGroup(this.adds, groupId);
    dropGroup(this.removes, groupId);
    dropGroup(this.flips, groupId);
  }

  /** Takes the time flips decided so far (reconcile stores them; a preview drops them). */
  takeFlips(): PlannedFlip[] {
    return this.flips.splice(0);
  }

  /** Takes the additions planned so far (a long pass writes them as it goes). */
  takeAdds(): PlannedAdd[] {
    return this.adds.splice(0);
  }

  pendingAdds(): number {
    return this.adds.length;
  }

  /** Removals are kept to the end: the safety valve weighs them all before any is written. */
  takeRemoves(): PlannedRemove[] {
    return this.removes.splice(0);
  }

  /** Groups whose rule failed, with the reason. */
  failures(): Map<string, string> {
    return new Map(this.errors);
  }
}

function dropGroup<T extends { groupId: string }>(items: T[], groupId: string): void {
  let w = 0;
  for (const item of items) if (item.groupId !== groupId) items[w++] = item;
  items.length = w;
}
