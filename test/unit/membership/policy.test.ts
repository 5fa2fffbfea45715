import { expect } from 'chai';
import { decide, mustHoldRemovals, heldRemovalsMessage, type CurrentMembership, type GroupPolicy } from '../../../src/membership/policy.js';

const group = (overrides: Partial<GroupPolicy> = {}): GroupPolicy => ({ ruleVersion: 3, includeInactive: false, manualMembers: 'remove', ...overrides });
const active = { active: true, staff: false };
const activeStaff = { active: true, staff: true };
const inactive = { active: false, staff: false };
const member = (source: CurrentMembership['source']): CurrentMembership => ({ source, addedAt: new Date(0) });

describe('membership policy: decide', () => {
  it('when the rule matches an eligible user, then add (or stay if already in, whatever the source)', () => {
    expect(decide(group(), active, true, undefined, false)).to.deep.equal({ action: 'add', reason: 'matches rule v3', byRule: true });
    expect(decide(group(), active, true, member('rule'), false)).to.deep.equal({ action: 'stay' });
    expect(decide(group(), active, true, member('manual'), false)).to.deep.equal({ action: 'stay' });
  });

  it('when the rule does not match, then a rule member leaves and a non-member stays out', () => {
    expect(decide(group(), active, false, member('rule'), false)).to.deep.equal({ action: 'remove', reason: 'no longer matches rule v3', byRule: true });
    expect(decide(group(), active, false, undefined, false)).to.deep.equal({ action: 'none' });
  });

  it('when a hand-added member does not match, then manualMembers decides: remove, keep, keep-staff', () => {
    for (const source of ['manual', 'key', 'default', 'csv'] as const) {
      expect(decide(group({ manualMembers: 'remove' }), active, false, member(source), false).action, source).to.equal('remove');
      expect(decide(group({ manualMembers: 'keep' }), active, false, member(source), false).action, source).to.equal('stay');
      expect(decide(group({ manualMembers: 'keep-staff' }), activeStaff, false, member(source), false).action, source).to.equal('stay');
      expect(decide(group({ manualMembers: 'keep-staff' }), active, false, member(source), false).action, source).to.equal('remove');
    }
    // keep never keeps a rule member the rule no longer selects.
    expect(decide(group({ manualMembers: 'keep' }), active, false, member('rule'), false).action).to.equal('remove');
  });

  it('when the user is excluded, then never a member, even if the rule matches or the member was added by hand', () => {
    expect(decide(group(), active, true, undefined, true)).to.deep.equal({ action: 'none' });
    expect(decide(group({ manualMembers: 'keep' }), active, true, member('manual'), true)).to.deep.equal({ action: 'remove', reason: 'excluded from the group' });
  });

  it('when the user is inactive, then not a member unless the group includes inactive users', () => {
    expect(decide(group(), inactive, true, undefined, false).action).to.equal('none');
    expect(decide(group(), inactive, true, member('rule'), false)).to.deep.equal({ action: 'remove', reason: 'user is inactive' });
    expect(decide(group({ manualMembers: 'keep' }), inactive, false, member('manual'), false).action).to.equal('remove');
    expect(decide(group({ includeInactive: true }), inactive, true, undefined, false).action).to.equal('add');
    expect(decide(group({ includeInactive: true }), inactive, true, member('rule'), false).action).to.equal('stay');
  });

  it('when the user was deleted, then they leave whatever the source and policy', () => {
    expect(decide(group({ manualMembers: 'keep' }), null, true, member('manual'), false)).to.deep.equal({ action: 'remove', reason: 'user deleted' });
    expect(decide(group(), null, false, undefined, false)).to.deep.equal({ action: 'none' });
  });
});

describe('membership policy: the safety valve', () => {
  const valve = { share: 0.5, minMembers: 10 };

  it('when more than the share would go from a group above the minimum, then hold', () => {
    expect(mustHoldRemovals(valve, 20, 20, 11)).to.equal(true);
    expect(mustHoldRemovals(valve, 20, 20, 10)).to.equal(false);
    expect(mustHoldRemovals(valve, 11, 11, 6)).to.equal(true);
  });

  it('when the group is at or below the minimum size, or nothing goes, then never hold', () => {
    expect(mustHoldRemovals(valve, 10, 10, 10)).to.equal(false);
    expect(mustHoldRemovals(valve, 1000, 1000, 0)).to.equal(false);
  });

  it('when a partition weighs its slice, then the share is of the slice and the minimum of the whole group', () => {
    expect(mustHoldRemovals(valve, 4, 100, 3)).to.equal(true);
    expect(mustHoldRemovals(valve, 4, 8, 4)).to.equal(false);
  });

  it('when removals are held, then the message says how many, the limit and how to confirm', () => {
    const message = heldRemovalsMessage(valve, 8, 12);
    expect(message).to.contain('8 of 12 members (67%)');
    expect(message).to.contain('50%');
    expect(message).to.contain('"confirmRemovals": true');
  });
});
