// An enrolment's input, for PUT /courses/{code}/enrollments/{externalId} and for each record of
// POST /enrollments/batch, and the rule that keeps enrolledAt/completedAt right.
import Joi from 'joi';
import type { FieldError } from '../platform/errors.js';
import { alongsideScreen, joiErrors, screenInput } from '../platform/validate.js';
import { readOnlyAttribute } from '../platform/openapi-schema.js';
import { courseCodeSchema, externalIdSchema } from './identifiers.js';
import type { EnrollmentDoc } from './user.model.js';

export const ENROLLMENT_STATUSES = ['subscribed', 'in_progress', 'completed', 'waitlisted', 'suspended'] as const;
export const ENROLLMENT_ROLES = ['student', 'instructor'] as const;
export const ENROLLMENT_MODES = ['internal', 'external'] as const;

const attributes = {
  status: Joi.string().valid(...ENROLLMENT_STATUSES).required(),
  role: Joi.string().valid(...ENROLLMENT_ROLES).default('student'),
  class: Joi.string().min(1).max(200).allow(null),
  cohort: Joi.string().min(1).max(200).allow(null),
  mode: Joi.string().valid(...ENROLLMENT_MODES).allow(null),
};
/** Kept by the service, shown in the representation: accepted and ignored so that a GET can be sent back. */
const readOnly = { enrolledAt: readOnlyAttribute(), completedAt: readOnlyAttribute(), updatedAt: readOnlyAttribute(), enrolledBy: readOnlyAttribute() };

/** PUT body; `course` and `externalId` may repeat the path (checked to match). */
export const enrollmentBodySchema = Joi.object({
  ...attributes,
  course: courseCodeSchema.description('Optional; must match the path'),
  externalId: externalIdSchema.description('Optional; must match the path'),
  ...readOnly,
});

/** One record of POST /enrollments/batch. */
export const enrollmentRecordSchema = Joi.object({
  ...attributes,
  course: courseCodeSchema.required(),
  externalId: externalIdSchema.required(),
  ...readOnly,
});

export interface EnrollmentInput {
  status: (typeof ENROLLMENT_STATUSES)[number];
  role: (typeof ENROLLMENT_ROLES)[number];
  class?: string | null;
  cohort?: string | null;
  mode?: (typeof ENROLLMENT_MODES)[number] | null;
  course?: string;
  externalId?: string;
  /** Internal (never from a request body): the group whose courses make this enrolment, `group:<id>`. */
  enrolledBy?: string;
}

/** A batch record, untrusted: the input or every problem, with paths relative to the record. */
export function checkEnrollmentRecord(raw: unknown): { input?: EnrollmentInput & { course: string; externalId: string }; externalId?: string; errors: FieldError[] } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { errors: [{ path: 'record', message: 'must be an object' }] };
  const screened = screenInput(raw);
  const input = screened.value as Record<string, unknown>;
  const externalId = typeof input.externalId === 'string' ? input.externalId : undefined;
  const { value, error } = enrollmentRecordSchema.validate(input, { abortEarly: false, convert: false });
  const errors = alongsideScreen(screened.errors, error ? joiErrors(error) : []);
  if (errors.length) return { externalId, errors };
  return { externalId, input: value as EnrollmentInput & { course: string; externalId: string }, errors: [] };
}

const ATTRIBUTES = ['status', 'role', 'class', 'cohort', 'mode'] as const;

/**
 * The enrolment to store: enrolledAt is kept from the first enrolment; completedAt is set when the status
 * becomes `completed`, kept while it stays so, and cleared when it moves away. `enrolledBy` (who made the
 * enrolment) is kept from the first enrolment too: a later change of status does not make it someone else's.
 * Undefined when nothing changes.
 */
export function nextEnrollment(existing: EnrollmentDoc | undefined, input: EnrollmentInput, now: Date): EnrollmentDoc | undefined {
  const wanted = {
    status: input.status,
    role: input.role ?? 'student',
    ...(input.class != null ? { class: input.class } : {}),
    ...(input.cohort != null ? { cohort: input.cohort } : {}),
    ...(input.mode != null ? { mode: input.mode } : {}),
  };
  const stored = (k: (typeof ATTRIBUTES)[number]) => (k === 'role' ? (existing?.role ?? 'student') : (existing?.[k] ?? undefined));
  if (existing && ATTRIBUTES.every((k) => stored(k) === (wanted as Record<string, unknown>)[k])) return undefined;
  const completedAt = wanted.status !== 'completed' ? undefined : existing?.status === 'completed' && existing.completedAt ? existing.completedAt : now;
  return {
    ...wanted,
    enrolledAt: existing?.enrolledAt ?? now,
    ...(completedAt ? { completedAt } : {}),
    updatedAt: now,
    ...(existing ? (existing.enrolledBy ? { enrolledBy: existing.enrolledBy } : {}) : input.enrolledBy ? { enrolledBy: input.enrolledBy } : {}),
  } as EnrollmentDoc;
}
