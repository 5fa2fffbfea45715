import { expect } from 'chai';
import { desiredGroupKeys, desiredGroupNames } from '../../../src/class-sync/desired-groups.js';
import { fiveMonthsAfter, stateOf, syncUntilOf } from '../../../src/class-sync/class-sync.service.js';
import type { ClassSyncDoc } from '../../../src/class-sync/class-sync.model.js';

describe('class group sync: which groups, and until when', () => {
  it('when a student has a class, a cohort and a mode, then they belong in one group of each; an instructor in none', () => {
    const e = { role: 'student', class: 'Tutorial_1|THU|01:00PM|C05', cohort: 'AHIS190_2018_FHFYR_INT_U', mode: 'external' };
    expect(desiredGroupNames(e)).to.deep.equal(['[Tutorial_1|THU|01:00PM|C05]', '[AHIS190_2018_FHFYR_INT_U]', '[External]']);
    expect(desiredGroupNames({ ...e, role: 'instructor' })).to.deep.equal([]);
    expect(desiredGroupNames(undefined)).to.deep.equal([]);
  });

  it('when parts are missing or blank, then only the groups named are kept (no mode: neither Internal nor External)', () => {
    expect(desiredGroupNames({ role: 'student', class: '  ', cohort: null })).to.deep.equal([]);
    expect(desiredGroupNames({ class: 'Lab' })).to.deep.equal(['[Lab]']);
    expect(desiredGroupNames({ role: 'student', mode: 'internal' })).to.deep.equal(['[Internal]']);
  });

  it('when a class and a cohort have the same name but for case, then they share one group', () => {
    expect([...desiredGroupKeys({ role: 'student', class: 'Group-A', cohort: 'group-a' })]).to.deep.equal(['[group-a]']);
  });

  it('when 5 months are added, then the day of month is kept or clamped to the last day of the month', () => {
    expect(fiveMonthsAfter(new Date('2026-01-31T09:00:00Z')).toISOString()).to.equal('2026-06-30T09:00:00.000Z');
    expect(fiveMonthsAfter(new Date('2026-09-30T00:00:00Z')).toISOString()).to.equal('2027-02-28T00:00:00.000Z');
    expect(fiveMonthsAfter(new Date('2027-09-30T12:00:00Z')).toISOString()).to.equal('2028-02-29T12:00:00.000Z');
    expect(fiveMonthsAfter(new Date('2026-03-15T08:30:00Z')).toISOString()).to.equal('2026-08-15T08:30:00.000Z');
  });

  it('when endsAt comes before the 5 months, then syncUntil is endsAt; state is ended from syncUntil on, disabled when off', () => {
    const doc: ClassSyncDoc = { _id: 'C', enabled: true, enabledAt: new Date('2026-01-01T00:00:00Z'), updatedAt: new Date() };
    expect(syncUntilOf(doc)!.toISOString()).to.equal('2026-06-01T00:00:00.000Z');
    expect(syncUntilOf({ ...doc, endsAt: new Date('2026-02-01T00:00:00Z') })!.toISOString()).to.equal('2026-02-01T00:00:00.000Z');
    expect(syncUntilOf({ ...doc, endsAt: new Date('2027-02-01T00:00:00Z') })!.toISOString()).to.equal('2026-06-01T00:00:00.000Z');
    expect(stateOf(doc, new Date('2026-05-31T23:59:59Z'))).to.equal('active');
    expect(stateOf(doc, new Date('2026-06-01T00:00:00Z'))).to.equal('ended');
    expect(stateOf({ ...doc, enabled: false }, new Date('2026-02-01T00:00:00Z'))).to.equal('disabled');
    expect(stateOf(null, new Date())).to.equal('disabled');
  });
});
