// The planner with groups of groups: groups evaluated after the groups their rule names, whatever order they come
// in; memberOf reading what the pass decided before; a group naming a group the pass (or its cause) changed
// evaluated even where `only` leaves it out, once; history's reason naming the group joined or left.
import { expect } from 'chai';
import { Planner } from '../../../src/membership/planner.js';
import type { EvalGroup } from '../../../src/membership/active-groups.js';
import { ruleReads } from '../../../src/membership/rule-reads.js';
import { compileRule, type RuleDocument } from '../../../src/rules/index.js';
import type { UserDoc } from '../../../src/directory/user.model.js';
import type { CurrentMembership } from '../../../src/membership/policy.js';

const now = new Date('2026-01-15T00:00:00Z');
const A = 'grp_00000000000000a1';
const B = 'grp_00000000000000b2';
const C = 'grp_00000000000000c3';
const VIP = 'grp_00000000000000f9';

function group(id: string, rule: RuleDocument): EvalGroup {
  return { id, name: `Group ${id.slice(-2)}`, paused: false, ruleVersion: 1, includeInactive: false, manualMembers: 'remove', compiled: compileRule(rule), reads: ruleReads(rule) };
}
const memberOf = (g: string, value = true) => ({ fact: 'memberOf', params: { group: g }, operator: 'equal', value });
const user = (fields: Record<string, string>): UserDoc => ({
  _id: 'u1', email: 'u1@example.com', emailLower: 'u1@example.com', firstName: 'A', lastName: 'B', type: 'learner', status: 'active', fields, enrollments: {}, createdAt: now, updatedAt: now,
});
const rule = (): CurrentMembership => ({ source: 'rule', addedAt: new Date(1) });

// A: Sales. B: in A and not in VIP (manual). C: in B.
const groups = [
  group(C, { conditions: { all: [memberOf(B)] } }),
  group(B, { conditions: { all: [memberOf(A), memberOf(VIP, false)] } }),
  group(A, { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } }),
];

describe('the planner with groups of groups', () => {
  it('when the groups come in any order, then each is evaluated after those it names, reading what this pass decided for them', () => {
    const planner = new Planner(groups, now);
    planner.user(user({ department: 'Sales' }), { actor: 't', current: () => undefined, excluded: () => false });
    expect(planner.takeAdds().map((a) => [a.groupId, a.reason])).to.deep.equal([
      [A, 'matches rule v1'],
      [B, 'matches rule v1: joined Group a1'],
      [C, 'matches rule v1: joined Group b2'],
    ]);
  });

  it('when `only` keeps the first level, then the levels above are evaluated because it changed, and not when it did not', () => {
    const moved = new Planner(groups, now);
    moved.user(user({ department: 'Sales' }), { actor: 't', only: (g) => g.id === A, current: () => undefined, excluded: () => false });
    expect(moved.takeAdds().map((a) => a.groupId)).to.deep.equal([A, B, C]);
    const still = new Planner(groups, now);
    still.user(user({ department: 'Sales' }), { actor: 't', only: (g) => g.id === A, current: (g) => (g === A ? rule() : undefined), excluded: () => false });
    expect(still.takeAdds()).to.deep.equal([]);
    expect([...still.evaluated.keys()]).to.deep.equal([A]);
  });

  it('when a named group changed just before (a cascade), then only the groups naming it are evaluated, with the stored memberships', () => {
    const planner = new Planner(groups, now);
    const stored = new Map<string, CurrentMembership>([[A, rule()], [B, rule()], [C, rule()], [VIP, { source: 'manual', addedAt: new Date(2) }]]);
    planner.user(user({ department: 'Sales' }), { actor: 't', only: () => false, changed: new Set([VIP]), groupName: (g) => (g === VIP ? 'VIP' : undefined), current: (g) => stored.get(g), excluded: () => false });
    expect(planner.takeRemoves().map((r) => [r.groupId, r.reason])).to.deep.equal([
      [B, 'no longer matches rule v1: joined VIP'],
      [C, 'no longer matches rule v1: left Group b2'],
    ]);
    expect([...planner.evaluated.keys()]).to.deep.equal([B, C]);
  });
});
