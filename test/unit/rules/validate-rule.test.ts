import { expect } from 'chai';
import { validateRule } from '../../../src/rules/index.js';
import type { FieldDef, RuleIssue } from '../../../src/rules/index.js';

const fields = new Map<string, FieldDef>([
  ['department', { key: 'department', label: 'Department', type: 'text' }],
  ['age', { key: 'age', label: 'Age', type: 'number' }],
  ['hireDate', { key: 'hireDate', label: 'Hire date', type: 'date' }],
  ['manager', { key: 'manager', label: 'Manager', type: 'boolean' }],
  ['level', { key: 'level', label: 'Level', type: 'select', options: ['junior', 'senior'] }],
]);
const ctx = { fields, courses: new Set(['DRV-101']) };

const staff = { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' };
const inAll = (...conditions: unknown[]) => ({ conditions: { all: conditions } });
const leaf = (overrides: Record<string, unknown>) => inAll({ ...staff, ...overrides });

function issues(rule: unknown): RuleIssue[] {
  return validateRule(rule, ctx).errors;
}

describe('rules: validateRule', () => {
  describe('when the rule is well formed', () => {
    it('then it is valid, without warnings', () => {
      const result = validateRule(
        inAll(
          staff,
          { fact: 'field', params: { key: 'department' }, operator: 'in', value: ['Sales', 'Marketing'] },
          { fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: 30 },
          { fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' },
          { any: [{ fact: 'email', operator: 'matches', value: '@(acme|example)\\.com$' }, { not: staff }] },
          // RE2 patterns a backtracking engine would choke on, or that need its syntax, are all accepted.
          { fact: 'email', operator: 'matches', value: '.*@contractor\\..*' },
          { fact: 'user', path: '$.lastName', operator: 'someValue:matches', value: ['a.*b.*c', '(?i)^smith$', '(a+)+$', '(a|a)*b', '(.*a){20}', '\\pL+', '(?P<x>y)'] },
          { fact: 'email', operator: 'someValue:not:endsWith', value: ['@a.com', '@b.com'] },
          { fact: 'field', params: { key: 'department' }, operator: 'swap:contains', value: ['Sales'] },
        ),
        ctx,
      );
      expect(result).to.deep.equal({ valid: true, errors: [], warnings: [] });
    });

    it('then an unknown course is only a warning', () => {
      const result = validateRule(inAll({ fact: 'enrollment', params: { course: 'NEW-1' }, operator: 'exists', value: true }), ctx);
      expect(result.valid).to.equal(true);
      expect(result.warnings).to.deep.equal([
        { path: 'conditions.all[0].params.course', message: 'no course "NEW-1" exists (yet): the condition is false until it does' },
      ]);
    });

    it('then a select value that is not an option is only a warning', () => {
      const result = validateRule(inAll({ fact: 'field', params: { key: 'level' }, operator: 'equal', value: 'lead' }), ctx);
      expect(result.valid).to.equal(true);
      expect(result.warnings.map((w) => w.path)).to.deep.equal(['conditions.all[0].value']);
    });
  });

  // Each row: a rule, the path of the (first) error, and a fragment of its message.
  const table: Array<[string, unknown, string, string]> = [
    ['not an object', 'staff', '', 'must be an object'],
    ['unknown top-level key', { conditions: { all: [] }, event: { type: 'x' } }, 'event', 'unknown key'],
    ['missing conditions', {}, 'conditions', 'is required'],
    ['a leaf at the root', { conditions: staff }, 'conditions', 'root condition must be'],
    ['two boolean keys', { conditions: { all: [], any: [] } }, 'conditions', 'has both "all" and "any"'],
    ['a key on a boolean node', { conditions: { all: [], priority: 2 } }, 'conditions.priority', 'unknown key'],
    ['all not a list', { conditions: { all: staff } }, 'conditions.all', 'must be a list'],
    ['not given a list', { conditions: { not: [staff] } }, 'conditions.not', 'not a list'],
    ['empty any', { conditions: { any: [] } }, 'conditions.any', 'empty "any" is true'],
    ['unknown fact', leaf({ fact: 'group' }), 'conditions.all[0].fact', 'unknown fact "group"'],
    ['missing operator', inAll({ fact: 'email', value: 'x' }), 'conditions.all[0].operator', 'is required'],
    ['missing value', inAll({ fact: 'email', operator: 'exists' }), 'conditions.all[0].value', 'is required'],
    ['unknown key on a condition', leaf({ priority: 1 }), 'conditions.all[0].priority', 'unknown key'],
    ['a $ key', leaf({ $where: '1' }), 'conditions.all[0].$where', 'keys starting with "$"'],
    ['a dotted key', { conditions: { all: [], 'a.b': 1 } }, 'conditions.a.b', 'containing "."'],
    ['unknown operator', leaf({ operator: 'like' }), 'conditions.all[0].operator', 'unknown operator "like"'],
    ['unknown decorator', leaf({ operator: 'maybe:equal' }), 'conditions.all[0].operator', 'unknown decorator "maybe"'],
    ['too many decorators', leaf({ operator: 'not:not:not:not:equal' }), 'conditions.all[0].operator', 'at most 3'],
    ['user without path', inAll({ fact: 'user', operator: 'equal', value: 'x' }), 'conditions.all[0].path', 'needs a path'],
    ['unknown user path', leaf({ path: '$.fields.department' }), 'conditions.all[0].path', 'must be one of'],
    ['JSONPath beyond a member', leaf({ path: '$..type' }), 'conditions.all[0].path', 'must be one of'],
    ['path on email', inAll({ fact: 'email', path: '$.x', operator: 'exists', value: true }), 'conditions.all[0].path', 'takes no path'],
    ['params on user', leaf({ params: { key: 'x' } }), 'conditions.all[0].params.key', 'takes no params'],
    ['field without params', inAll({ fact: 'field', operator: 'exists', value: true }), 'conditions.all[0].params', 'needs params'],
    ['undefined field', inAll({ fact: 'field', params: { key: 'shoeSize' }, operator: 'exists', value: true }), 'conditions.all[0].params.key', 'no field "shoeSize"'],
    ['bad field key', inAll({ fact: 'field', params: { key: '1x' }, operator: 'exists', value: true }), 'conditions.all[0].params.key', 'must be a field key'],
    ['unknown param', inAll({ fact: 'enrollment', params: { course: 'DRV-101', year: 1 }, operator: 'exists', value: true }), 'conditions.all[0].params.year', 'unknown param'],
    ['bad course', inAll({ fact: 'enrollment', params: { course: '$x' }, operator: 'exists', value: true }), 'conditions.all[0].params.course', 'must be a course code'],
    ['object value', leaf({ value: { fact: 'email' } }), 'conditions.all[0].value', 'never an object'],
    ['long string', leaf({ value: 'x'.repeat(1001) }), 'conditions.all[0].value', 'limited to 1000'],
    ['in without a list', leaf({ operator: 'in', value: 'staff' }), 'conditions.all[0].value', 'takes lists only'],
    ['notIn with a nested list', leaf({ operator: 'notIn', value: [['staff']] }), 'conditions.all[0].value', 'takes lists only'],
    ['swap:in', leaf({ operator: 'swap:in', value: ['staff'] }), 'conditions.all[0].operator', 'swapped'],
    ['someValue without a list', leaf({ operator: 'someValue:equal', value: 'staff' }), 'conditions.all[0].value', 'must be a list'],
    ['someValue on the fact after swap', leaf({ operator: 'swap:someValue:equal', value: 'staff' }), 'conditions.all[0].operator', 'after swap'],
    ['someFact on a user fact', leaf({ operator: 'someFact:equal' }), 'conditions.all[0].operator', 'no fact of a user is a list'],
    ['lessThan with a string', inAll({ fact: 'field', params: { key: 'age' }, operator: 'lessThan', value: '30' }), 'conditions.all[0].value', 'must be a number'],
    ['number field compared to a string', inAll({ fact: 'field', params: { key: 'age' }, operator: 'equal', value: '30' }), 'conditions.all[0].value', 'must be a number'],
    ['boolean field compared to a string', inAll({ fact: 'field', params: { key: 'manager' }, operator: 'equal', value: 'true' }), 'conditions.all[0].value', 'must be a boolean'],
    ['unknown enum value', leaf({ value: 'staf' }), 'conditions.all[0].value', '"staf" is not one of learner, staff'],
    ['null compared', leaf({ value: null }), 'conditions.all[0].value', 'use "exists"'],
    ['includesText on a number field', inAll({ fact: 'field', params: { key: 'age' }, operator: 'includesText', value: '3' }), 'conditions.all[0].operator', 'applies to text'],
    ['empty includesText', inAll({ fact: 'email', operator: 'includesText', value: '' }), 'conditions.all[0].value', 'non-empty string'],
    ['before on text', inAll({ fact: 'email', operator: 'before', value: '2024-01-01' }), 'conditions.all[0].operator', 'applies to dates'],
    ['a date without offset', inAll({ fact: 'field', params: { key: 'hireDate' }, operator: 'after', value: '2024-01-01T10:00:00' }), 'conditions.all[0].value', 'must be a date'],
    ['an impossible date', inAll({ fact: 'field', params: { key: 'hireDate' }, operator: 'after', value: '2024-02-30' }), 'conditions.all[0].value', 'must be a date'],
    ['negative days', inAll({ fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: -1 }), 'conditions.all[0].value', 'number of days'],
    ['lessThan on a date', inAll({ fact: 'field', params: { key: 'hireDate' }, operator: 'lessThan', value: 3 }), 'conditions.all[0].operator', 'use "before" or "after"'],
    ['contains on text', inAll({ fact: 'email', operator: 'contains', value: 'a' }), 'conditions.all[0].operator', 'use "includesText"'],
    ['custom operator swapped', inAll({ fact: 'email', operator: 'swap:startsWith', value: 'a' }), 'conditions.all[0].operator', 'cannot be swapped'],
    ['exists with a string', inAll({ fact: 'email', operator: 'exists', value: 'yes' }), 'conditions.all[0].value', 'must be true'],
    ['equal on a whole enrolment', inAll({ fact: 'enrollment', params: { course: 'DRV-101' }, operator: 'equal', value: 'completed' }), 'conditions.all[0].operator', 'through a path'],
    ['a regex that is not a string', inAll({ fact: 'email', operator: 'matches', value: 5 }), 'conditions.all[0].value', 'must be a regular expression (RE2 syntax)'],
    ['an invalid regex', inAll({ fact: 'email', operator: 'matches', value: '(a' }), 'conditions.all[0].value', 'not valid RE2 syntax (no backreferences or lookaround): missing closing ): `(a`'],
    ['a backreference', inAll({ fact: 'email', operator: 'matches', value: '(a)\\1' }), 'conditions.all[0].value', 'not valid RE2 syntax (no backreferences or lookaround): invalid escape sequence: `\\1`'],
    ['a lookahead', inAll({ fact: 'email', operator: 'matches', value: 'a(?=b)' }), 'conditions.all[0].value', 'not valid RE2 syntax (no backreferences or lookaround): invalid or unsupported Perl syntax: `(?=`'],
    ['a lookbehind in a list', inAll({ fact: 'email', operator: 'someValue:matches', value: ['^a', '(?<!a)b'] }), 'conditions.all[0].value[1]', 'not valid RE2 syntax'],
    ['a pattern over 500 instructions', inAll({ fact: 'email', operator: 'matches', value: '\\pL{600}' }), 'conditions.all[0].value', 'compiles to 602 RE2 instructions, more than 500'],
    ['a pattern over 1,000 characters', inAll({ fact: 'email', operator: 'matches', value: 'a'.repeat(1001) }), 'conditions.all[0].value', 'limited to 1000 characters'],
    [
      'nested errors name their place',
      { conditions: { any: [staff, { not: { all: [staff, { ...staff, operator: 'nope' }] } }] } },
      'conditions.any[1].not.all[1].operator',
      'unknown operator',
    ],
  ];

  for (const [name, rule, path, fragment] of table) {
    it(`when ${name}, then the error names ${path || 'the rule'}`, () => {
      const errors = issues(rule);
      expect(errors.length, JSON.stringify(errors)).to.be.greaterThan(0);
      const hit = errors.find((e) => e.path === path);
      expect(hit, `no error at ${path}: ${JSON.stringify(errors)}`).to.not.equal(undefined);
      expect(hit!.message).to.contain(fragment);
    });
  }

  describe('when the rule is too big', () => {
    it('then more than 500 conditions is an error', () => {
      const errors = issues(inAll(...Array.from({ length: 501 }, () => staff)));
      expect(errors).to.deep.equal([{ path: 'conditions.all[500]', message: 'a rule has at most 500 conditions' }]);
    });

    it('then 500 conditions are fine', () => {
      expect(issues(inAll(...Array.from({ length: 500 }, () => staff)))).to.deep.equal([]);
    });

    it('then nesting deeper than 20 levels is an error, and 20 levels are fine', () => {
      const nest = (levels: number): unknown => (levels === 1 ? { all: [staff] } : { not: nest(levels - 1) });
      expect(issues({ conditions: nest(20) })).to.deep.equal([]);
      const errors = issues({ conditions: nest(21) });
      expect(errors).to.have.length(1);
      expect(errors[0]!.path).to.equal(`conditions${'.not'.repeat(20)}`);
      expect(errors[0]!.message).to.contain('deeper than 20');
    });

    it('then a hostile document (very deep, very wide) is refused quickly without a stack overflow', () => {
      let deep: unknown = staff;
      for (let i = 0; i < 100_000; i++) deep = { not: deep };
      expect(issues({ conditions: deep })[0]!.message).to.contain('deeper than 20');
      const wide = inAll(...Array.from({ length: 100_000 }, () => ({ ...staff, operator: 'bad' })));
      expect(issues(wide).length).to.be.at.most(100);
    });
  });

  describe('when several things are wrong', () => {
    it('then every error is reported, each at its place', () => {
      const errors = issues(inAll({ fact: 'nope', operator: 'equal', value: 1 }, { ...staff, value: 'x' }, { ...staff, path: '$.x' }));
      expect(errors.map((e) => e.path)).to.deep.equal(['conditions.all[0].fact', 'conditions.all[1].value', 'conditions.all[2].path']);
    });
  });
});
