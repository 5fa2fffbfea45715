// The console's rule model (console/src/rule-model.ts): operators in words, the operators offered per fact type,
// which values are valid for a value kind, and what a condition missing its value says. Pure functions, no browser.
import { expect } from 'chai';
import { missingValue, operatorWords, operatorsFor, validValue, valueKind } from '../../../console/src/rule-model.js';
import type { Catalogue } from '../../../console/src/types.js';
import { operatorCatalogue } from '../../../src/rules/index.js';

const catalogue = { operators: operatorCatalogue().operators, facts: [], fields: [], courses: [], templates: [] } as unknown as Catalogue;

describe('console rule model', () => {
  it('when operators are shown, then each is in words, and a decorated one without words of its own says what it negates', () => {
    expect(['equal', 'notEqual', 'in', 'includesText', 'withinLastDays', 'moreThanDaysAgo'].map(operatorWords)).to.deep.equal([
      'is',
      'is not',
      'is one of',
      'contains',
      'is in the last N days',
      'is more than N days ago',
    ]);
    expect(operatorWords('not:before')).to.equal('is on or after, or has none');
    expect(operatorWords('not:in')).to.equal('not (is one of)');
  });

  it('when a fact type is chosen, then every operator of the catalogue for it is offered, with the worded not: variants only', () => {
    const dates = operatorsFor('date', catalogue);
    expect(dates).to.include.members(['equal', 'before', 'not:before', 'after', 'not:after', 'withinLastDays', 'moreThanDaysAgo']);
    expect(dates).to.not.include('not:equal');
    expect(operatorsFor('text', catalogue)).to.include.members(['includesText', 'not:includesText', 'startsWith', 'not:startsWith']);
    for (const op of [...dates, ...operatorsFor('text', catalogue), ...operatorsFor('number', catalogue)]) expect(operatorWords(op), op).to.not.match(/^not \(/);
  });

  it('when a value is checked against its kind, then only a value of that kind (and of its options) is valid', () => {
    expect(validValue(valueKind('equal', 'select'), 'staff', ['permanent', 'fixed-term'])).to.equal(false);
    expect(validValue(valueKind('equal', 'select'), 'permanent', ['permanent', 'fixed-term'])).to.equal(true);
    expect(validValue(valueKind('equal', 'date'), 'staff')).to.equal(false);
    expect(validValue(valueKind('not:before', 'date'), '2026-01-01')).to.equal(true);
    expect(validValue(valueKind('withinLastDays', 'date'), 30)).to.equal(true);
    expect(validValue(valueKind('in', 'text'), [])).to.equal(false);
  });

  it('when a condition lacks its value, then it says so in words of what the condition is about', () => {
    expect(missingValue('Hire date', 'date', '')).to.equal('Hire date needs a date');
    expect(missingValue('Email', 'text', '')).to.equal('Email needs some text');
    expect(missingValue('Department', 'select', 'staff', ['Sales'])).to.equal('Department needs one of its values');
    expect(missingValue('Department', 'select', 'Sales', ['Sales'])).to.equal(undefined);
  });
});
