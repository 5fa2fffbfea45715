import { expect } from 'chai';
import { nextEnrollment } from '../../../src/directory/enrollment.schema.js';
import type { EnrollmentDoc } from '../../../src/directory/user.model.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-02-01T00:00:00Z');
const t2 = new Date('2026-03-01T00:00:00Z');

describe('enrolment dates', () => {
  it('when a user is first enrolled, then enrolledAt is now and role defaults to student', () => {
    const e = nextEnrollment(undefined, { status: 'subscribed', role: undefined as never }, t0)!;
    expect(e).to.deep.equal({ status: 'subscribed', role: 'student', enrolledAt: t0, updatedAt: t0 });
  });

  it('when the status becomes completed, stays, and moves away, then completedAt is set, kept, and cleared', () => {
    const a = nextEnrollment(undefined, { status: 'in_progress', role: 'student' }, t0)!;
    const b = nextEnrollment(a, { status: 'completed', role: 'student' }, t1)!;
    expect(b).to.include({ enrolledAt: t0, completedAt: t1 });
    const c = nextEnrollment(b, { status: 'completed', role: 'student', cohort: 'x' }, t2)!;
    expect(c).to.include({ enrolledAt: t0, completedAt: t1, updatedAt: t2, cohort: 'x' });
    const d = nextEnrollment(c, { status: 'suspended', role: 'student', cohort: 'x' }, t2)!;
    expect(d).to.not.have.property('completedAt');
    expect(d.enrolledAt).to.equal(t0);
  });

  it('when nothing changes (an unset role stored means student), then there is nothing to write', () => {
    const stored = { status: 'subscribed', enrolledAt: t0, updatedAt: t0, class: 'C1' } as unknown as EnrollmentDoc;
    expect(nextEnrollment(stored, { status: 'subscribed', role: 'student', class: 'C1' }, t1)).to.equal(undefined);
    expect(nextEnrollment(stored, { status: 'subscribed', role: 'student', class: 'C1', cohort: null }, t1)).to.equal(undefined);
    expect(nextEnrollment(stored, { status: 'subscribed', role: 'student' }, t1)).to.not.equal(undefined);
  });
});
