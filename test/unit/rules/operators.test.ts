// Each operator on its own, evaluated both by the compiled predicate and by json-rules-engine (the reference).
import { expect } from 'chai';
import { compileRule, createEngine } from '../../../src/rules/index.js';
import type { RuleDocument, RuleValue, UserFacts } from '../../../src/rules/index.js';

const now = new Date('2025-01-20T12:00:00.000Z');
const MISSING = Symbol('missing');

function userWith(x: unknown): UserFacts {
  return {
    externalId: 'u1',
    email: 'Ana@Acme.com',
    firstName: 'Ana',
    lastName: 'Smith',
    type: 'staff',
    status: 'active',
    fields: x === MISSING ? {} : ({ x } as Record<string, string>),
    enrollments: {},
  };
}

async function both(operator: string, factValue: unknown, value: RuleValue): Promise<boolean> {
  const rule: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'x' }, operator, value }] } };
  const user = userWith(factValue);
  const compiled = compileRule(rule).predicate(user, now);
  const { results } = await createEngine(rule, user, now).run();
  expect(compiled, `predicate and engine disagree on ${operator} ${String(factValue)} ${JSON.stringify(value)}`).to.equal(
    results.length > 0,
  );
  return compiled;
}

type Row = [unknown, RuleValue, boolean];
const table: Record<string, Row[]> = {
  equal: [['a', 'a', true], ['a', 'A', false], [30, 30, true], ['30', 30, false], [MISSING, 'a', false], [true, true, true]],
  notEqual: [['a', 'b', true], ['a', 'a', false], [MISSING, 'a', true], ['30', 30, true]],
  in: [['a', ['a', 'b'], true], ['c', ['a', 'b'], false], [MISSING, ['a'], false], [2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], true]],
  notIn: [['c', ['a', 'b'], true], ['a', ['a'], false], [MISSING, ['a'], true]],
  contains: [[['a', 'b'], 'a', true], ['abc', 'a', false], [MISSING, 'a', false]],
  doesNotContain: [[['a', 'b'], 'c', true], ['abc', 'z', false], [MISSING, 'a', false]],
  lessThan: [[3, 5, true], [5, 5, false], ['3', 5, true], ['3abc', 5, false], [MISSING, 5, false], [true, 5, false]],
  lessThanInclusive: [[5, 5, true], [6, 5, false]],
  greaterThan: [[6, 5, true], [5, 5, false], ['10', 5, true], [MISSING, -1, false]],
  greaterThanInclusive: [[5, 5, true], [4, 5, false]],
  includesText: [['Senior Manager', 'manager', true], ['Senior Manager', 'MANAGER', true], ['Dev', 'manager', false], [MISSING, 'a', false], [12, '1', false]],
  startsWith: [['EMP-1', 'EMP-', true], ['emp-1', 'EMP-', false], [MISSING, 'E', false]],
  endsWith: [['a@acme.com', '@acme.com', true], ['a@ACME.com', '@acme.com', false]],
  matches: [
    ['AB-123', '^[A-Z]{2}-\\d{3}$', true], ['AB-1234', '^[A-Z]{2}-\\d{3}$', false], [MISSING, '.', false], [123, '\\d', false],
    ['x'.repeat(1000) + 'AB', 'AB', false],
    // RE2 syntax: anywhere unless anchored, inline flags, whole-text \z.
    ['ana@contractor.example', '.*@contractor\\..*', true], ['ana@contractors.example', '.*@contractor\\..*', false],
    ['xaybzc', 'a.*b.*c', true], ['xacb', 'a.*b.*c', false],
    ['ana@CONTRACTOR.io', '(?i)@contractor\\.', true], ['ana@Contractor.io', '@contractor\\.', false], ['ana@contractor-io', '(?i)@CONTRACTOR\\.', false],
    ['end\n', 'end$', false], ['end', 'end\\z', true], ['Straße', '(?i)STRASSE', false], ['Σ', '(?i)σ', true],
    // The backtracking classics, on values built to make a backtracking engine explore every split.
    ['a'.repeat(999) + '!', '(a+)+$', false], ['a'.repeat(999) + '!', '(a|a)*b', false], ['a'.repeat(999) + '!', '(.*a){20}$', false],
    ['a'.repeat(999) + '!', '(.*a){20}', true], ['a'.repeat(100_000) + '!', '^(a|aa)+$', true],
  ],
  exists: [['a', true, true], [MISSING, true, false], [MISSING, false, true], [null, false, true], ['', true, true], [0, true, true]],
  before: [['2024-12-31', '2025-01-01', true], ['2025-01-01', '2025-01-01', false], ['2024-12-31T23:59:59Z', '2025-01-01', true], ['2025-01-01T00:30:00+01:00', '2025-01-01', true], ['not a date', '2025-01-01', false], [MISSING, '2025-01-01', false]],
  after: [['2025-01-02', '2025-01-01', true], ['2025-01-01T00:00:00.001Z', '2025-01-01', true], ['2025-01-01T00:00:00Z', '2025-01-01', false]],
  withinLastDays: [['2025-01-13T12:00:00.000Z', 7, true], ['2025-01-13T11:59:59.999Z', 7, false], ['2025-01-20T12:00:00.000Z', 0, true], ['2025-01-21', 7, false], ['2025-01-15', 7, true], [MISSING, 7, false]],
  moreThanDaysAgo: [['2025-01-13T11:59:59.999Z', 7, true], ['2025-01-13T12:00:00.000Z', 7, false], ['2020-01-01', 365, true], [MISSING, 1, false]],
};

describe('rules: operators (predicate and json-rules-engine together)', () => {
  for (const [operator, rows] of Object.entries(table)) {
    it(`when ${operator} is evaluated, then it gives the documented result`, async () => {
      for (const [fact, value, expected] of rows) {
        expect(await both(operator, fact, value), `${operator}(${String(fact)}, ${JSON.stringify(value)})`).to.equal(expected);
      }
    });
  }

  describe('when decorated', () => {
    it('then not: negates, and is true for a missing fact', async () => {
      expect(await both('not:includesText', 'Manager', 'man')).to.equal(false);
      expect(await both('not:includesText', MISSING, 'man')).to.equal(true);
      expect(await both('not:lessThan', MISSING, 5)).to.equal(true);
    });

    it('then someValue:/everyValue: take the items of the value', async () => {
      expect(await both('someValue:endsWith', 'a@b.com', ['@c.com', '@b.com'])).to.equal(true);
      expect(await both('everyValue:not:includesText', 'Senior Dev', ['intern', 'temp'])).to.equal(true);
      expect(await both('everyValue:equal', 'a', [])).to.equal(true);
    });

    it('then swap:contains tests the value list for the fact', async () => {
      expect(await both('swap:contains', 'North', ['North', 'South'])).to.equal(true);
      expect(await both('swap:contains', MISSING, ['North'])).to.equal(false);
      expect(await both('swap:lessThan', 10, 5)).to.equal(true);
    });

    it('then someFact:/everyFact: apply to list facts only', async () => {
      expect(await both('someFact:equal', ['a', 'b'], 'b')).to.equal(true);
      expect(await both('everyFact:equal', 'b', 'b')).to.equal(false);
      expect(await both('not:everyFact:equal', 'b', 'b')).to.equal(true);
    });
  });

  describe('when the clock moves', () => {
    it('then time-relative operators use the now they are given, and the rule says it depends on time', () => {
      const rule: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'x' }, operator: 'withinLastDays', value: 1 }] } };
      const compiled = compileRule(rule);
      const user = userWith('2025-01-20');
      expect(compiled.predicate(user, new Date('2025-01-20T12:00:00Z'))).to.equal(true);
      expect(compiled.predicate(user, new Date('2025-01-21T00:00:01Z'))).to.equal(false);
      expect(compiled.uses).to.deep.equal({ fields: new Set(['x']), courses: new Set(), groups: new Set(), timeDependent: true });
    });
  });
});
