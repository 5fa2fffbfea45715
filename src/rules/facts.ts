// The five facts a rule can read, resolved from a user's facts. The same functions feed json-rules-engine
// (engine.ts registers them as dynamic facts) and the compiled predicate, so both read identical values.
import { RuleEvaluationError } from './errors.js';
import type { UserFacts } from './rule.types.js';

export const FACT_NAMES = ['email', 'user', 'field', 'enrollment', 'memberOf'] as const;
export type FactName = (typeof FACT_NAMES)[number];

/** A group's id as the service makes them (`grp_` and 16 hex digits): what a `memberOf` condition names. */
export const GROUP_ID = /^grp_[0-9a-f]{16}$/;

/** Properties the `user` fact yields (reached with `path: '$.<name>'`). */
export const USER_PATH_KEYS = ['externalId', 'email', 'firstName', 'lastName', 'type', 'status', 'branch'] as const;
/** Properties of the `enrollment` fact. */
export const ENROLLMENT_PATH_KEYS = ['status', 'role', 'class', 'cohort', 'mode', 'enrolledAt', 'completedAt'] as const;

export const USER_TYPES = ['learner', 'staff'] as const;
export const USER_STATUSES = ['active', 'inactive'] as const;
export const ENROLLMENT_STATUSES = ['subscribed', 'in_progress', 'completed', 'waitlisted', 'suspended'] as const;
export const ENROLLMENT_ROLES = ['student', 'instructor'] as const;
export const ENROLLMENT_MODES = ['internal', 'external'] as const;

const hasOwn = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);

function checkUser(user: unknown): asserts user is UserFacts {
  if (user === null || typeof user !== 'object' || Array.isArray(user)) {
    throw new RuleEvaluationError('rule evaluated against something that is not a user');
  }
}

export function emailFact(user: UserFacts): unknown {
  checkUser(user);
  return user.email;
}

/** The `user` fact: the standard fields only (never fields or enrolments). */
export function userFact(user: UserFacts): Record<string, unknown> {
  checkUser(user);
  return {
    externalId: user.externalId,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    type: user.type,
    status: user.status,
    branch: user.branch,
  };
}

/** One standard field of the user: what `userFact(user)` then `$.<key>` yields. */
export function userProperty(user: UserFacts, key: string): unknown {
  checkUser(user);
  return (user as unknown as Record<string, unknown>)[key];
}

/** `fields[key]`, or undefined. A missing or non-object `fields` reads as no fields. */
export function fieldFact(user: UserFacts, key: string): unknown {
  checkUser(user);
  const fields: unknown = user.fields;
  if (fields === null || typeof fields !== 'object') return undefined;
  return hasOwn(fields, key) ? (fields as Record<string, unknown>)[key] : undefined;
}

/** `enrollments[course]`, or undefined. */
export function enrollmentFact(user: UserFacts, course: string): unknown {
  checkUser(user);
  const enrollments: unknown = user.enrollments;
  if (enrollments === null || typeof enrollments !== 'object') return undefined;
  return hasOwn(enrollments, course) ? (enrollments as Record<string, unknown>)[course] : undefined;
}

/**
 * `memberOf`: whether the user is a member of the group, as the evaluation's membership lookup answers (the
 * reconcile pass's view: stored memberships, with what this pass has decided for groups evaluated before). Facts
 * without a lookup (a user read on its own) are members of nothing.
 */
export function memberOfFact(user: UserFacts, groupId: string): boolean {
  checkUser(user);
  return typeof user.memberOf === 'function' ? user.memberOf(groupId) === true : false;
}

/**
 * What json-rules-engine's almanac yields for `path: '$.<key>'` on a fact value: on an object (arrays included),
 * the own property or undefined (JSONPath); on anything else (a primitive, null, undefined), the value itself.
 */
export function resolvePath(value: unknown, key: string): unknown {
  if (value != null && typeof value === 'object') {
    return hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** `'$.status'` → `'status'`; null for any other path shape (only simple member paths are accepted). */
export function pathKey(path: string): string | null {
  const m = /^\$\.([A-Za-z][A-Za-z0-9_]*)$/.exec(path);
  return m ? m[1]! : null;
}
