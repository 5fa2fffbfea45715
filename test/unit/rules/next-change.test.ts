import { expect } from 'chai';
import { compileRule } from '../../../src/rules/index.js';
import { useTimeZone } from '../../../src/rules/dates.js';
import { flipReason, nextChangeFinder } from '../../../src/rules/next-change.js';
import type { BooleanCondition, RuleDocument, UserFacts } from '../../../src/rules/index.js';
import { NOWS, genRule, genUser, prng } from './support/generate.js';

const DAY = 86_400_000;
const user = (fields: Record<string, unknown>, enrollments: Record<string, unknown> = {}): UserFacts =>
  ({ externalId: 'u1', email: 'u1@x.io', firstName: 'U', lastName: 'One', type: 'learner', status: 'active', fields, enrollments }) as UserFacts;

/** The finder and predicate of a rule; `now` is the injected clock. */
function next(conditions: BooleanCondition, facts: UserFacts, now: string) {
  const rule: RuleDocument = { conditions };
  const compiled = compileRule(rule);
  const find = nextChangeFinder(rule);
  return find ? find(facts, compiled.predicate, new Date(now)) : null;
}

const hired = (op: string, days: number): BooleanCondition => ({ all: [{ fact: 'field', params: { key: 'hireDate' }, operator: op, value: days }] });
const certified = (op: string, days: number): BooleanCondition => ({ all: [{ fact: 'enrollment', params: { course: 'CERT-1' }, path: '$.completedAt', operator: op, value: days }] });

describe('rules: the next change of a user\'s result by time alone', () => {
  afterEach(() => useTimeZone('UTC'));

  it('when a rule reads no clock, then there is no finder', () => {
    expect(nextChangeFinder({ conditions: { all: [{ fact: 'email', operator: 'endsWith', value: '@x.io' }] } })).to.equal(null);
  });

  it('when a completion instant passes 365 days, then the change is the first millisecond after it, naming the condition', () => {
    const completed = '2025-03-02T09:14:00.000Z';
    const facts = user({}, { 'CERT-1': { status: 'completed', completedAt: completed } });
    const change = next(certified('withinLastDays', 365), facts, '2025-06-01T00:00:00Z')!;
    expect(change.at.toISOString()).to.equal('2026-03-02T09:14:00.001Z');
    expect(change.matches).to.equal(false);
    expect(flipReason(change.leaf, change.leafResult)).to.equal('completed CERT-1 within the last 365 days no longer holds');
    const lapse = next(certified('moreThanDaysAgo', 365), facts, '2025-06-01T00:00:00Z')!;
    expect(lapse.at.toISOString()).to.equal('2026-03-02T09:14:00.001Z');
    expect(lapse.matches).to.equal(true);
    expect(flipReason(lapse.leaf, lapse.leafResult)).to.equal('completed CERT-1 more than 365 days ago');
    // And the predicate agrees on both sides of the instant: never before it.
    const rule = compileRule({ conditions: certified('moreThanDaysAgo', 365) });
    expect(rule.predicate(facts, new Date(lapse.at.getTime() - 1))).to.equal(false);
    expect(rule.predicate(facts, lapse.at)).to.equal(true);
  });

  it('when days are fractional (0.001), then the change is 86.4 s after the instant', () => {
    const facts = user({ seen: '2025-06-01T12:00:00.000Z' });
    const change = next({ all: [{ fact: 'field', params: { key: 'seen' }, operator: 'withinLastDays', value: 0.001 }] }, facts, '2025-06-01T12:00:30Z')!;
    expect(change.at.getTime()).to.equal(Date.UTC(2025, 5, 1, 12, 1, 26, 401));
  });

  it('when the date is in the future, then "within" begins when it comes, and ends after the days', () => {
    const facts = user({ hireDate: '2025-07-01T08:00:00Z' });
    const joins = next(hired('withinLastDays', 90), facts, '2025-06-01T00:00:00Z')!;
    expect(joins.at.toISOString()).to.equal('2025-07-01T08:00:00.000Z');
    expect(joins.matches).to.equal(true);
    const leaves = next(hired('withinLastDays', 90), facts, joins.at.toISOString())!;
    expect(leaves.at.getTime()).to.equal(Date.UTC(2025, 6, 1, 8) + 90 * DAY + 1);
  });

  it('when a calendar date\'s 90 days end across Lisbon\'s 23-hour day, then the change is at local midnight (23:00 UTC)', () => {
    useTimeZone('Europe/Lisbon');
    const facts = user({ hireDate: '2025-01-01' });
    // 1 January + 90 days = 1 April, whose midnight in Lisbon (UTC+1 since 30 March) is 31 March 23:00 UTC.
    const change = next(hired('withinLastDays', 90), facts, '2025-03-01T00:00:00Z')!;
    expect(change.at.toISOString()).to.equal('2025-03-31T23:00:00.001Z');
    expect(change.matches).to.equal(false);
    expect(flipReason(change.leaf, change.leafResult)).to.equal('hireDate within the last 90 days no longer holds');
    // In UTC the same rule would end an hour later.
    useTimeZone('UTC');
    expect(next(hired('withinLastDays', 90), facts, '2025-03-01T00:00:00Z')!.at.toISOString()).to.equal('2025-04-01T00:00:00.001Z');
  });

  it('when a calendar date\'s days end across Lisbon\'s 25-hour day, then the change is at local midnight (00:00 UTC)', () => {
    useTimeZone('Europe/Lisbon');
    const facts = user({ hireDate: '2025-10-20' });
    expect(next(hired('moreThanDaysAgo', 7), facts, '2025-10-21T00:00:00Z')!.at.toISOString()).to.equal('2025-10-27T00:00:00.001Z');
    expect(next(hired('moreThanDaysAgo', 6), facts, '2025-10-21T00:00:00Z')!.at.toISOString()).to.equal('2025-10-25T23:00:00.001Z');
  });

  it('when the days end across Sydney\'s daylight-saving days, then the change is at midnight in Sydney', () => {
    useTimeZone('Australia/Sydney');
    // 5 October 2025: clocks go forward (+10 → +11). 1 October + 7 days = 8 October 00:00 AEDT = 7 October 13:00 UTC.
    expect(next(hired('withinLastDays', 7), user({ hireDate: '2025-10-01' }), '2025-10-02T00:00:00Z')!.at.toISOString()).to.equal('2025-10-07T13:00:00.001Z');
    // 6 April 2025: clocks go back (+11 → +10). 1 April + 7 days = 8 April 00:00 AEST = 7 April 14:00 UTC.
    expect(next(hired('withinLastDays', 7), user({ hireDate: '2025-04-01' }), '2025-04-02T00:00:00Z')!.at.toISOString()).to.equal('2025-04-07T14:00:00.001Z');
    // A half day on top of the whole days is twelve hours after that midnight.
    expect(next(hired('withinLastDays', 7.5), user({ hireDate: '2025-04-01' }), '2025-04-02T00:00:00Z')!.at.toISOString()).to.equal('2025-04-08T02:00:00.001Z');
  });

  it('when a leaf flips but the rule\'s result does not, then that candidate is not reported', () => {
    const facts = user({ hireDate: '2025-01-01T00:00:00Z', role: 'lead' });
    const either: BooleanCondition = { any: [hired('withinLastDays', 10), { fact: 'field', params: { key: 'role' }, operator: 'equal', value: 'lead' }] };
    expect(next(either, facts, '2025-01-05T00:00:00Z')).to.equal(null);
    // Two windows: in the first 10 days but not the first 3; the change is the first that moves the whole rule.
    const band: BooleanCondition = { all: [hired('withinLastDays', 10), { not: hired('withinLastDays', 3) }] };
    const joins = next(band, facts, '2025-01-02T00:00:00Z')!;
    expect(joins.at.getTime()).to.equal(Date.UTC(2025, 0, 4) + 1);
    expect(joins.matches).to.equal(true);
    const leaves = next(band, facts, '2025-01-05T00:00:00Z')!;
    expect(leaves.at.getTime()).to.equal(Date.UTC(2025, 0, 11) + 1);
    expect(leaves.matches).to.equal(false);
  });

  it('when the operator is decorated (not:, someValue:), then its instants are found too', () => {
    const facts = user({ hireDate: '2025-01-01T00:00:00Z' });
    const notWithin = next({ all: [{ fact: 'field', params: { key: 'hireDate' }, operator: 'not:withinLastDays', value: 30 }] }, facts, '2025-01-02T00:00:00Z')!;
    expect(notWithin.at.getTime()).to.equal(Date.UTC(2025, 0, 31) + 1);
    expect(notWithin.matches).to.equal(true);
    const some = next({ all: [{ fact: 'field', params: { key: 'hireDate' }, operator: 'someValue:withinLastDays', value: [5, 20] }] }, facts, '2025-01-10T00:00:00Z')!;
    expect(some.at.getTime()).to.equal(Date.UTC(2025, 0, 21) + 1);
  });

  it('when the user lacks the date, then nothing changes by time', () => {
    expect(next(hired('withinLastDays', 30), user({}), '2025-01-10T00:00:00Z')).to.equal(null);
  });

  for (const zone of ['UTC', 'Europe/Lisbon', 'Australia/Sydney']) {
    it(`when random rules and users are searched (TIMEZONE ${zone}), then each change found is confirmed and nothing changes before it`, () => {
      useTimeZone(zone);
      const r = prng(7_000 + zone.length);
      let found = 0;
      for (let i = 0; i < 3000; i++) {
        const now = r.pick(NOWS);
        const rule = genRule(r, now.getTime());
        const finder = nextChangeFinder(rule);
        if (!finder) continue;
        const { predicate } = compileRule(rule);
        for (let j = 0; j < 4; j++) {
          const facts = genUser(r, now.getTime(), false);
          const change = finder(facts, predicate, now);
          const before = predicate(facts, now);
          if (!change) {
            // No change: the result holds at sampled instants over the next two years.
            for (let k = 1; k <= 24; k++) expect(predicate(facts, new Date(now.getTime() + k * 30 * DAY)), JSON.stringify({ rule, facts, now })).to.equal(before);
            continue;
          }
          found++;
          expect(change.at.getTime()).to.be.greaterThan(now.getTime());
          expect(predicate(facts, change.at), JSON.stringify({ rule, facts, now })).to.equal(change.matches).and.not.equal(before);
          expect(predicate(facts, new Date(change.at.getTime() - 1))).to.equal(before);
          const span = change.at.getTime() - now.getTime();
          for (let k = 1; k < 16; k++) expect(predicate(facts, new Date(now.getTime() + Math.floor((span * k) / 16)))).to.equal(before);
        }
      }
      expect(found).to.be.greaterThan(15);
    });
  }
});
