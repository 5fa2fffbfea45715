// History's reason for a rule's decision names what the change changed that the rule reads.
import { expect } from 'chai';
import { changeReason } from '../../../src/membership/change-reasons.js';
import { ruleReads } from '../../../src/membership/rule-reads.js';
import type { UserDoc } from '../../../src/directory/user.model.js';

const user = {
  _id: 'ana',
  email: 'ana@example.com',
  status: 'active',
  type: 'learner',
  fields: { department: 'Ops' },
  enrollments: { 'DRV-101': { status: 'completed' } },
} as unknown as UserDoc;
const field = (key: string) => ({ fact: 'field', params: { key }, operator: 'equal', value: 'Sales' });

describe('change reasons', () => {
  it('when a field the rule reads changed, then the reason names it with its new value; a removed one says so', () => {
    const reads = ruleReads({ conditions: { all: [field('department'), field('region')] } } as never);
    expect(changeReason(user, ['fields.department'], reads)).to.equal('department changed to Ops');
    expect(changeReason(user, ['fields.region'], reads)).to.equal('region removed');
    expect(changeReason(user, ['fields.department', 'fields.region'], reads)).to.equal('department changed to Ops, region removed');
  });

  it('when an enrolment changed, then the reason names the course and its status', () => {
    const reads = ruleReads({ conditions: { all: [{ fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' }] } } as never);
    expect(changeReason(user, ['enrollments.DRV-101'], reads)).to.equal('enrolment in DRV-101 changed to completed');
    expect(changeReason(user, ['enrollments.DRV-101.status'], reads)).to.equal('enrolment in DRV-101 changed to completed');
  });

  it('when nothing the rule reads changed, or nothing changed (a new user), then there is no reason to add', () => {
    const reads = ruleReads({ conditions: { all: [field('department')] } } as never);
    expect(changeReason(user, ['email', 'fields.team'], reads)).to.equal(undefined);
    expect(changeReason(user, [], reads)).to.equal(undefined);
  });
});
