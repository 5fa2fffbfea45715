// Which of a course's class groups a student belongs in: pure, from the enrolment alone.
//
// One group per class (`[<class>]`), per cohort (`[<cohort>]`), and by attendance mode `[Internal]` or `[External]`
// (an enrolment without a mode is in neither). Instructors are in none: only role `student` counts. Names are
// compared as the group store does (case-insensitively, `nameLower`), so a class and a cohort that share a name share
// a group.

/** The group name for a class, a cohort, or a mode label. */
export const classGroupName = (value: string): string => `[${value}]`;

const MODE_LABELS = { internal: 'Internal', external: 'External' } as const;

/** A stored enrolment or its facts: only role, class, cohort and mode are read. */
type EnrollmentLike = { role?: string | null; class?: string | null; cohort?: string | null; mode?: string | null } | undefined | null;

/** The names of the groups a student with this enrolment belongs in (none for an instructor or no enrolment). */
export function desiredGroupNames(e: EnrollmentLike): string[] {
  if (!e || (e.role ?? 'student') !== 'student') return [];
  const names: string[] = [];
  if (typeof e.class === 'string' && e.class.trim() !== '') names.push(classGroupName(e.class));
  if (typeof e.cohort === 'string' && e.cohort.trim() !== '') names.push(classGroupName(e.cohort));
  if (e.mode === 'internal' || e.mode === 'external') names.push(classGroupName(MODE_LABELS[e.mode]));
  return names;
}

/** The same, as the group store keys names (lower case), for membership tests. */
export function desiredGroupKeys(e: EnrollmentLike): Set<string> {
  return new Set(desiredGroupNames(e).map((n) => n.toLowerCase()));
}
