import { expect } from 'chai';
import {
  compileRule,
  factCatalogue,
  fillTemplate,
  operatorCatalogue,
  ruleSchema,
  ruleTemplates,
  validateRule,
} from '../../../src/rules/index.js';
import type { FieldDef } from '../../../src/rules/index.js';
import { FACT_NAMES } from '../../../src/rules/facts.js';
import { DECORATOR_MAP, OPERATORS } from '../../../src/rules/operators.js';

const fieldTypes: Record<string, FieldDef['type']> = { department: 'text', hireDate: 'date', location: 'text', jobTitle: 'text' };
const fields = new Map(Object.entries(fieldTypes).map(([key, type]) => [key, { key, label: key, type } as FieldDef]));

describe('rules: catalogues in rules/', () => {
  describe('when the templates are read', () => {
    const templates = ruleTemplates();

    it('then there are at least the eight the issue asks for, with unique ids', () => {
      const ids = templates.map((t) => t.id);
      expect(new Set(ids).size).to.equal(ids.length);
      for (const id of [
        'completed-course',
        'enrolled-not-completed',
        'department-in-list',
        'email-contains',
        'hired-within-days',
        'staff-only',
        'location-and-job-title',
        'not-enrolled',
      ]) {
        expect(ids).to.include(id);
      }
    });

    for (const template of ruleTemplates()) {
      it(`then "${template.id}" filled with its examples is a valid rule`, () => {
        const rule = fillTemplate(template);
        expect(JSON.stringify(rule)).not.to.contain('{{');
        const result = validateRule(rule, { fields, courses: new Set(['DRV-101', 'SAFE-1']) });
        expect(result, JSON.stringify(result)).to.deep.include({ valid: true, errors: [], warnings: [] });
        expect(() => compileRule(rule)).not.to.throw();
        for (const p of template.placeholders) expect(p.name).to.match(/^\w+$/);
      });
    }

    it('then "members-of-a-not-in-b" filled with two groups names them, is valid where they exist, and an error where one does not', () => {
      const template = templates.find((t) => t.id === 'members-of-a-not-in-b')!;
      expect(template.placeholders.map((p) => p.type)).to.deep.equal(['group', 'group']);
      const [a, b] = ['grp_00000000000000a1', 'grp_00000000000000b2'];
      const rule = fillTemplate(template, { groupA: a, groupB: b });
      expect(rule.conditions).to.deep.equal({
        all: [
          { fact: 'memberOf', params: { group: a }, operator: 'equal', value: true },
          { fact: 'memberOf', params: { group: b }, operator: 'equal', value: false },
        ],
      });
      expect(validateRule(rule, { fields, groups: new Map([[a, 'Sales Portugal'], [b, 'Contractors']]) }).errors).to.deep.equal([]);
      const missing = validateRule(rule, { fields, groups: new Map([[a, 'Sales Portugal']]) });
      expect(missing.errors.map((e) => e.path)).to.deep.equal(['conditions.all[1].params.group']);
    });

    it('then placeholders keep the type of their value when they are the whole string', () => {
      const template = templates.find((t) => t.id === 'hired-within-days')!;
      const rule = fillTemplate(template, { days: 14, hireDateField: 'startDate' });
      expect(rule.conditions).to.deep.equal({
        all: [{ fact: 'field', params: { key: 'startDate' }, operator: 'withinLastDays', value: 14 }],
      });
    });
  });

  describe('when the operator and fact catalogues are read', () => {
    it('then they list exactly the operators, decorators and facts the engine knows, each with an example', () => {
      const { operators, decorators } = operatorCatalogue();
      expect(operators.map((o) => o.name).sort()).to.deep.equal([...OPERATORS.keys()].sort());
      expect(decorators.map((d) => d.name).sort()).to.deep.equal([...DECORATOR_MAP.keys()].sort());
      expect(factCatalogue().map((f) => f.name)).to.deep.equal([...FACT_NAMES]);
      for (const o of operators) {
        expect(o.description, o.name).to.be.a('string').and.not.equal('');
        const rule = { conditions: { all: [o.example] } };
        const fieldsOfExample = new Map([...fields, ['grade', { key: 'grade', label: 'g', type: 'number' }], ['yearsOfService', { key: 'yearsOfService', label: 'y', type: 'number' }], ['employeeId', { key: 'employeeId', label: 'e', type: 'text' }]] as Array<[string, FieldDef]>);
        expect(validateRule(rule, { fields: fieldsOfExample }).errors, o.name).to.deep.equal([]);
      }
    });

    it('then "matches" says it takes RE2 syntax, with its limits, inline (?i) and what RE2 lacks', () => {
      const m = operatorCatalogue().operators.find((o) => o.name === 'matches')!;
      for (const words of ['RE2 syntax', 'https://github.com/google/re2/wiki/Syntax', '1,000 characters', '500 compiled instructions', '(?i)', 'no backreferences or lookaround']) {
        expect(m.value, words).to.contain(words);
      }
      expect(m.description).to.contain('first 1,000 characters');
    });

    it('then the catalogues are frozen: a caller cannot change them for the next one', () => {
      expect(Object.isFrozen(operatorCatalogue().operators[0])).to.equal(true);
      expect(Object.isFrozen(ruleTemplates()[0]!.rule)).to.equal(true);
    });

    it('then the JSON Schema names the same operators', () => {
      const schema = ruleSchema() as { definitions: { leafCondition: { properties: { operator: { pattern: string } } } } };
      const pattern = new RegExp(schema.definitions.leafCondition.properties.operator.pattern);
      for (const name of OPERATORS.keys()) expect(pattern.test(`not:${name}`), name).to.equal(true);
      expect(pattern.test('like')).to.equal(false);
    });
  });
});
