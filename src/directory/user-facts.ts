// The facts a rule sees for a user (src/rules UserFacts), built from the stored document. Dates become ISO
// strings, as the API shows them.
import type { UserDoc } from './user.model.js';
import type { EnrollmentFacts, UserFacts } from '../rules/index.js';
import { recordOf } from './user-diff.js';

export function toUserFacts(doc: UserDoc): UserFacts {
  const enrollments: Record<string, EnrollmentFacts> = {};
  for (const [course, e] of Object.entries(doc.enrollments ?? {})) {
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
    ...recordOf(doc),
    enrollments,
  };
}
