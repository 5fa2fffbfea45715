// The stored user document (src/directory/user.model.ts), generated, and the facts src/directory/user-facts.ts
// builds from it: enrolment dates are Dates in the document and toISOString() in facts; a missing role reads as
// 'student'; a null branch or class is absent.
import type { UserFacts } from '../../../../src/rules/index.js';
import { genUser, type Random } from './generate.js';
import { toUserFacts } from '../../../../src/directory/user-facts.js';
import type { UserDoc } from '../../../../src/directory/user.model.js';

export interface StoredEnrollment {
  status: string;
  role?: string;
  class?: string;
  cohort?: string;
  mode?: string;
  enrolledAt: Date;
  completedAt?: Date;
}
export interface StoredUser {
  _id: string;
  email: string;
  emailLower: string;
  firstName: string;
  lastName: string;
  type: string;
  status: string;
  branch?: string | null;
  fields: Record<string, string | number | boolean>;
  enrollments: Record<string, StoredEnrollment>;
}

export function genStoredUser(r: Random, now: number): StoredUser {
  const u = genUser(r, now, false);
  const enrollments: Record<string, StoredEnrollment> = {};
  for (const [course, e] of Object.entries(u.enrollments)) {
    const stored: StoredEnrollment = { status: e.status, enrolledAt: new Date(e.enrolledAt) };
    if (!r.chance(0.1)) stored.role = e.role;
    if (e.class !== undefined) stored.class = e.class;
    if (e.cohort !== undefined) stored.cohort = e.cohort;
    if (e.mode !== undefined) stored.mode = e.mode;
    if (e.completedAt !== undefined) stored.completedAt = new Date(e.completedAt);
    enrollments[course] = stored;
  }
  return {
    _id: u.externalId,
    email: u.email,
    emailLower: u.email.toLowerCase(),
    firstName: u.firstName,
    lastName: u.lastName,
    type: u.type,
    status: u.status,
    ...(u.branch !== undefined ? { branch: u.branch } : r.chance(0.2) ? { branch: null } : {}),
    fields: u.fields,
    enrollments,
  };
}

/** The facts the service builds from this stored document: the real conversion, so filter tests cover it too. */
export function factsOf(doc: StoredUser): UserFacts {
  return toUserFacts(doc as unknown as UserDoc);
}
