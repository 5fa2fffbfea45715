import { expect } from 'chai';
import { InvalidRuleError, explainRule } from '../../../src/rules/index.js';
import type { RuleDocument, UserFacts } from '../../../src/rules/index.js';

const now = new Date('2025-01-20T12:00:00Z');
const user: UserFacts = {
  externalId: 'u1',
  email: 'ana@acme.com',
  firstName: 'Ana',
  lastName: 'Smith',
  type: 'staff',
  status: 'active',
  fields: { department: 'Sales' },
  enrollments: { 'DRV-101': { status: 'in_progress', role: 'student', enrolledAt: '2025-01-02T09:00:00.000Z' } },
};

describe('rules: explainRule', () => {
  describe('when a rule is explained for a user', () => {
    it('then each condition carries the fact, the value the user had and its result, from the engine', async () => {
      const rule: RuleDocument = {
        conditions: {
          all: [
            { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' },
            { not: { fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' } },
            { any: [{ fact: 'field', params: { key: 'region' }, operator: 'equal', value: 'North' }, { fact: 'email', operator: 'includesText', value: 'ACME' }] },
          ],
        },
      };
      const explanation = await explainRule(rule, user, now);
      expect(explanation).to.deep.equal({
        matches: true,
        conditions: {
          all: [
            { fact: 'user', path: '$.type', operator: 'equal', value: 'staff', factValue: 'staff', result: true },
            {
              not: {
                fact: 'enrollment',
                params: { course: 'DRV-101' },
                path: '$.status',
                operator: 'equal',
                value: 'completed',
                factValue: 'in_progress',
                result: false,
              },
              result: true,
            },
            {
              any: [
                { fact: 'field', params: { key: 'region' }, operator: 'equal', value: 'North', factValue: undefined, result: false },
                { fact: 'email', operator: 'includesText', value: 'ACME', factValue: 'ana@acme.com', result: true },
              ],
              result: true,
            },
          ],
          result: true,
        },
      });
      // The caller's rule is left as it was (the engine decorates the conditions it is given).
      expect(JSON.stringify(rule)).not.to.contain('result');
    });

    it('then overlapping explanations do not interfere (an engine per evaluation)', async () => {
      const rule: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } };
      const other = { ...user, fields: { department: 'HR' } };
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => explainRule(rule, i % 2 ? user : other, now)));
      expect(results.map((r) => r.matches)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i % 2 === 1));
    });

    it('then an invalid rule is refused with every issue', async () => {
      const bad = { conditions: { all: [{ fact: 'nope', operator: 'equal', value: 1 }] } } as unknown as RuleDocument;
      const err = await explainRule(bad, user, now).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(InvalidRuleError);
      expect((err as InvalidRuleError).errors[0]!.path).to.equal('conditions.all[0].fact');
    });
  });
});
