import { expect } from 'chai';
import { changeAffects, fieldKeysRead, ruleReads } from '../../../src/membership/rule-reads.js';
import type { RuleDocument } from '../../../src/rules/index.js';

const rule: RuleDocument = {
  conditions: {
    all: [
      { fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' },
      { any: [{ fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' }, { not: { fact: 'email', operator: 'includesText', value: 'x' } }] },
      { fact: 'user', path: '$.branch', operator: 'equal', value: 'north' },
    ],
  },
};
const policy = { includeInactive: false, manualMembers: 'remove' };

describe('what a rule reads', () => {
  it('when a rule is walked, then every path it reads is named as change events name them', () => {
    const reads = ruleReads(rule);
    expect(reads.all).to.equal(false);
    expect([...reads.paths].sort()).to.deep.equal(['branch', 'email', 'enrollments.DRV-101', 'fields.department']);
    expect(fieldKeysRead(rule)).to.deep.equal(['department']);
  });

  it('when the user fact has no path, then every standard field counts; an unknown fact reads everything', () => {
    const whole = ruleReads({ conditions: { all: [{ fact: 'user', operator: 'equal', value: 'x' }] } });
    expect(whole.paths.has('type')).to.equal(true);
    expect(whole.paths.has('status')).to.equal(true);
    expect(ruleReads({ conditions: { all: [{ fact: 'mystery', operator: 'equal', value: 1 }] } }).all).to.equal(true);
    expect(ruleReads(undefined).all).to.equal(true);
  });

  it('when a change names a path the rule reads, then it affects the group; other paths do not', () => {
    const reads = ruleReads(rule);
    expect(changeAffects(reads, policy, ['fields.department'])).to.equal(true);
    expect(changeAffects(reads, policy, ['enrollments.DRV-101'])).to.equal(true);
    expect(changeAffects(reads, policy, ['enrollments.DRV-101.status'])).to.equal(true);
    expect(changeAffects(reads, policy, ['fields.region', 'enrollments.FIRE-1', 'lastName'])).to.equal(false);
  });

  it('when status or type changes, then the policies make it matter: status unless inactive users count, type under keep-staff', () => {
    const reads = ruleReads(rule);
    expect(changeAffects(reads, policy, ['status'])).to.equal(true);
    expect(changeAffects(reads, { ...policy, includeInactive: true }, ['status'])).to.equal(false);
    expect(changeAffects(reads, policy, ['type'])).to.equal(false);
    expect(changeAffects(reads, { ...policy, manualMembers: 'keep-staff' }, ['type'])).to.equal(true);
  });
});
