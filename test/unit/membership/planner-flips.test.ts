import { expect } from 'chai';
import { Planner } from '../../../src/membership/planner.js';
import type { EvalGroup } from '../../../src/membership/active-groups.js';
import { ruleReads } from '../../../src/membership/rule-reads.js';
import { compileRule, type RuleDocument } from '../../../src/rules/index.js';
import { nextChangeFinder } from '../../../src/rules/next-change.js';
import type { UserDoc } from '../../../src/directory/user.model.js';

const now = new Date('2026-01-15T00:00:00Z');
const DAY = 86_400_000;

function group(id: string, rule: RuleDocument): EvalGroup {
  return { id, name: id, paused: false, ruleVersion: 3, includeInactive: false, manualMembers: 'remove', compiled: compileRule(rule), reads: ruleReads(rule), nextChange: nextChangeFinder(rule) };
}

function user(id: string, hired: string | undefined, status: 'active' | 'inactive' = 'active'): UserDoc {
  return {
    _id: id,
    email: `${id}@example.com`,
    emailLower: `${id}@example.com`,
    firstName: 'A',
    lastName: 'B',
    type: 'learner',
    status,
    fields: hired ? { hired } : {},
    enrollments: {},
    createdAt: now,
    updatedAt: now,
  };
}

const newHires: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'hired' }, operator: 'withinLastDays', value: 90 }] } };
const sales: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } };
const none = { current: () => undefined, excluded: () => false, actor: 'test' };

describe('the planner: time flips of the users it evaluates', () => {
  it('when a time-dependent group is evaluated, then each user gets their next flip or null; other groups none', () => {
    const planner = new Planner([group('hires', newHires), group('sales', sales)], now);
    planner.user(user('u1', '2026-01-01'), none);
    planner.user(user('u2', undefined), none);
    const flips = planner.takeFlips();
    expect(flips.map((f) => [f.groupId, f.externalId, f.at?.toISOString() ?? null, f.reason, f.ruleVersion])).to.deep.equal([
      ['hires', 'u1', new Date(Date.parse('2026-01-01T00:00:00Z') + 90 * DAY + 1).toISOString(), 'hired within the last 90 days no longer holds', 3],
      ['hires', 'u2', null, '', 3],
    ]);
    expect(planner.takeFlips()).to.deep.equal([]);
  });

  it('when the rule is not evaluated (an inactive user, an excluded one), then the flip is cleared', () => {
    const planner = new Planner([group('hires', newHires)], now);
    planner.user(user('u1', '2026-01-01', 'inactive'), none);
    planner.user(user('u2', '2026-01-01'), { ...none, excluded: () => true });
    expect(planner.takeFlips().map((f) => [f.externalId, f.at])).to.deep.equal([['u1', null], ['u2', null]]);
  });
});
