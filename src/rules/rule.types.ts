// The types of the rule engine's public contract: the rule document (json-rules-engine's format, restricted to
// what validateRule accepts), the facts a rule reads, and what compile/validate/explain hand back.

/** A condition value as it appears in JSON. Objects are never values (json-rules-engine would read `{ fact }` as a fact reference). */
export type RuleValue = string | number | boolean | null | RuleValue[];

export interface LeafCondition {
  fact: string;
  operator: string;
  value: RuleValue;
  params?: Record<string, unknown>;
  path?: string;
}

export interface AllCondition {
  all: Condition[];
}
export interface AnyCondition {
  any: Condition[];
}
export interface NotCondition {
  not: Condition;
}
export type BooleanCondition = AllCondition | AnyCondition | NotCondition;
export type Condition = LeafCondition | BooleanCondition;

/** A group's rule: `{ conditions: { all | any | not } }`, nested freely. */
export interface RuleDocument {
  conditions: BooleanCondition;
}

export interface EnrollmentFacts {
  status: 'subscribed' | 'in_progress' | 'completed' | 'waitlisted' | 'suspended';
  role: 'student' | 'instructor';
  class?: string;
  cohort?: string;
  mode?: 'internal' | 'external';
  /** ISO instant. */
  enrolledAt: string;
  /** ISO instant. */
  completedAt?: string;
}

export interface UserFacts {
  externalId: string;
  email: string;
  firstName: string;
  lastName: string;
  type: 'learner' | 'staff';
  status: 'active' | 'inactive';
  branch?: string;
  /** Additional fields; date-type fields are calendar dates 'YYYY-MM-DD'. */
  fields: Record<string, string | number | boolean>;
  /** Keyed by course code. */
  enrollments: Record<string, EnrollmentFacts>;
  /**
   * The `memberOf` fact's lookup: whether the user is a member of that group in the evaluation's view (the
   * planner's: stored memberships plus what its pass decided before). Absent: a member of no group.
   */
  memberOf?: (groupId: string) => boolean;
}

export interface FieldDef {
  key: string;
  label: string;
  type: 'text' | 'number' | 'date' | 'boolean' | 'select';
  options?: string[];
}

/** One problem found in a rule; `path` names its place, e.g. `conditions.all[2].value`. */
export interface RuleIssue {
  path: string;
  message: string;
}

export interface ValidationContext {
  fields: ReadonlyMap<string, FieldDef>;
  courses?: ReadonlySet<string>;
  /** Every group's name by id: a `memberOf` condition naming a group not here is an error. */
  groups?: ReadonlyMap<string, string>;
}

export interface RuleValidationResult {
  valid: boolean;
  errors: RuleIssue[];
  warnings: RuleIssue[];
}

export interface RuleUses {
  /** Field keys the rule reads. */
  fields: Set<string>;
  /** Course codes the rule reads. */
  courses: Set<string>;
  /** Groups the rule's `memberOf` conditions name. */
  groups: Set<string>;
  /** True when the result can change with the clock alone (withinLastDays, moreThanDaysAgo). */
  timeDependent: boolean;
}

export interface CompiledRule {
  /** Synchronous; agrees with json-rules-engine on every input. Throws RuleEvaluationError only for input that is not a user. */
  predicate(user: UserFacts, now: Date): boolean;
  /**
   * A filter on the stored user document selecting a superset of the users the predicate accepts at `now`,
   * or null when the rule cannot narrow the candidates.
   */
  mongoFilter(now: Date): Record<string, unknown> | null;
  uses: RuleUses;
}

/** A leaf of an explanation: the condition as written, the value the user had, and the outcome. */
export interface ExplainLeaf {
  fact: string;
  params?: Record<string, unknown>;
  path?: string;
  operator: string;
  value: unknown;
  /** The fact's value for this user; undefined (absent from JSON) when the user lacks it. */
  factValue: unknown;
  result: boolean;
  /** A `memberOf` condition: the named group's own standing for this user, and why (to any depth). */
  group?: GroupExplanation;
}

/** What a `memberOf` condition's group says of the user: a member or not, and for an automatic group its own rule. */
export interface GroupExplanation {
  id: string;
  name: string;
  type: 'manual' | 'automatic';
  member: boolean;
  /** Automatic groups: whether the user matches its rule, and each of its conditions. */
  matches?: boolean;
  conditions?: ExplainNode;
}
export type ExplainNode =
  | { all: ExplainNode[]; result: boolean }
  | { any: ExplainNode[]; result: boolean }
  | { not: ExplainNode; result: boolean }
  | ExplainLeaf;

export interface Explanation {
  matches: boolean;
  conditions: ExplainNode;
}
