import { expect } from 'chai';
import { Planner } from '../../../src/membership/planner.js';
import type { EvalGroup } from '../../../src/membership/active-groups.js';
import { ruleReads } from '../../../src/membership/rule-reads.js';
import { compileRule, RuleEvaluationError, type CompiledRule, type RuleDocument } from '../../../src/rules/index.js';
import type { UserDoc } from '../../../src/directory/user.model.js';
import type { CurrentMembership } from '../../../src/membership/policy.js';

const now = new Date('2026-01-15T00:00:00Z');

function group(id: string, rule: RuleDocument, overrides: Partial<EvalGroup> = {}): EvalGroup {
  return { id, name: id, paused: false, ruleVersion: 1, includeInactive: false, manualMembers: 'remove', compiled: compileRule(rule), reads: ruleReads(rule), ...overrides };
}

function user(id: string, fields: Record<string, string>, overrides: Partial<UserDoc> = {}): UserDoc {
  return {
    _id: id,
    email: `${id}@example.com`,
    emailLower: `${id}@example.com`,
    firstName: 'A',
    lastName: 'B',
    type: 'learner',
    status: 'active',
    fields,
    enrollments: {},
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

const sales: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } };
const none = { current: () => undefined, excluded: () => false, actor: 'test' };
const rule = (since: number): CurrentMembership => ({ source: 'rule', addedAt: new Date(since) });

describe('the planner: users in, the difference out', () => {
  it('when users are evaluated against several groups, then only differences are planned', () => {
    const planner = new Planner([group('g1', sales), group('g2', { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'People' }] } })], now);
    planner.user(user('u1', { department: 'Sales' }), none);
    planner.user(user('u2', { department: 'People' }), { ...none, current: (g) => (g === 'g1' ? rule(1) : g === 'g2' ? rule(2) : undefined) });
    expect(planner.takeAdds().map((a) => `${a.groupId}:${a.externalId}`)).to.deep.equal(['g1:u1']);
    expect(planner.takeRemoves().map((r) => `${r.groupId}:${r.externalId}:${r.reason}`)).to.deep.equal(['g1:u2:no longer matches rule v1']);
    expect(planner.takeAdds()).to.deep.equal([]);
  });

  it('when `only` narrows the groups, then the others are not evaluated', () => {
    const planner = new Planner([group('g1', sales), group('g2', sales)], now);
    planner.user(user('u1', { department: 'Sales' }), { ...none, only: (g) => g.id === 'g2' });
    expect(planner.takeAdds().map((a) => a.groupId)).to.deep.equal(['g2']);
    expect(planner.evaluated.get('g1')).to.equal(undefined);
  });

  it("when a group's predicate throws, then that group is failed with the reason, its planned changes dropped, and the others go on", () => {
    let calls = 0;
    const throwing: CompiledRule = {
      predicate: () => {
        calls++;
        if (calls === 2) throw new RuleEvaluationError('facts are not a user');
        return calls === 1;
      },
      mongoFilter: () => null,
      uses: { fields: new Set(), courses: new Set(), groups: new Set(), timeDependent: false },
    };
    const planner = new Planner([group('bad', sales, { compiled: throwing }), group('good', sales)], now);
    planner.user(user('u1', { department: 'Sales' }), none);
    planner.user(user('u2', { department: 'Sales' }), { ...none, current: (g) => (g === 'bad' ? rule(1) : undefined) });
    planner.user(user('u3', { department: 'Sales' }), none);
    expect(planner.takeAdds().map((a) => `${a.groupId}:${a.externalId}`)).to.deep.equal(['good:u1', 'good:u2', 'good:u3']);
    expect(planner.failures().get('bad')).to.match(/the rule failed for user u2: facts are not a user/);
    expect(calls).to.equal(2);
  });

  it('when a group has no compiled rule, then it is failed from the start and never evaluated', () => {
    const planner = new Planner([group('x', sales, { compiled: null, compileError: 'the rule cannot be evaluated: bad' })], now);
    planner.user(user('u1', { department: 'Sales' }), { ...none, current: () => rule(1) });
    expect(planner.takeRemoves()).to.deep.equal([]);
    expect(planner.failures().get('x')).to.equal('the rule cannot be evaluated: bad');
  });

  it('when a user was deleted, then every membership they hold is planned out, keyed by the addition it undoes', () => {
    const planner = new Planner([], now);
    planner.deletedUser('u9', new Map([['g1', rule(5)], ['manual1', { source: 'manual', addedAt: new Date(6) }]]), 'hr', new Map([['g1', 4]]));
    expect(planner.takeRemoves().map((r) => [r.groupId, r.reason, r.ruleVersion, r.membership.addedAt.getTime()])).to.deep.equal([
      ['g1', 'user deleted', 4, 5],
      ['manual1', 'user deleted', 0, 6],
    ]);
  });

  it('when the rule is not needed (excluded, inactive), then it is not evaluated', () => {
    let calls = 0;
    const counting: CompiledRule = { predicate: () => (calls++, true), mongoFilter: () => null, uses: { fields: new Set(), courses: new Set(), groups: new Set(), timeDependent: false } };
    const planner = new Planner([group('g', sales, { compiled: counting })], now);
    planner.user(user('u1', {}), { ...none, excluded: () => true });
    planner.user(user('u2', {}, { status: 'inactive' }), none);
    expect(calls).to.equal(0);
    expect(planner.takeAdds()).to.deep.equal([]);
  });
});
