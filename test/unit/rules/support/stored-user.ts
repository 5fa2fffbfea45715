// The stored user document (src/directory/user.model.ts) and the facts built from it, as src/directory/user-facts.ts
// builds them: enrolment dates are Dates in the document and toISOString() in facts; a missing role reads as
// 'student'; a null branch or class is absent.
import type { EnrollmentFacts, UserFacts } from '../../../../src/rules/index.js';
import { genUser, type Random } from './generate.js';

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

export function factsOf(doc: StoredUser): UserFacts {
  const enrollments: Record<string, EnrollmentFacts> = {};
  for (const [course, e] of Object.entries(doc.enrollments)) {
    enrollments[course] = {
      status: e.status as EnrollmentFacts['status'],
      role: (e.role ?? 'student') as EnrollmentFacts['role'],
      ...(e.class != null ? { class: e.class } : {}),
      ...(e.cohort != null ? { cohort: e.cohort } : {}),
      ...(e.mode != null ? { mode: e.mode as 'internal' | 'external' } : {}),
      enrolledAt: e.enrolledAt.toISOString(),
      ...(e.completedAt ? { completedAt: e.completedAt.toISOString() } : {}),
    };
  }
  return {
    externalId: doc._id,
    email: doc.email,
    firstName: doc.firstName,
    lastName: doc.lastName,
    type: doc.type as UserFacts['type'],
    status: doc.status as UserFacts['status'],
    ...(doc.branch != null ? { branch: doc.branch } : {}),
    fields: { ...doc.fields },
    enrollments,
  };
}
