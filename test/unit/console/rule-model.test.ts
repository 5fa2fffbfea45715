// The console's rule model (console/src/rule-model.ts): operators in words, the operators offered per fact type,
// which values are valid for a value kind, and what a condition missing its value says. Pure functions, no browser.
import { expect } from 'chai';
import { asksForMembers, matchGroups, memberOfLeaf, membershipWords, namesGroups, missingValue, operatorWords, operatorsFor, validValue, valueKind } from '../../../console/src/rule-model.js';
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

  it('when a "member of" condition is made or read, then it is the API\'s memberOf form, and a hand-written notEqual reads the other way round', () => {
    expect(memberOfLeaf('grp_0123456789abcdef', false)).to.deep.equal({ fact: 'memberOf', params: { group: 'grp_0123456789abcdef' }, operator: 'equal', value: false });
    expect(memberOfLeaf()).to.deep.equal({ fact: 'memberOf', params: { group: '' }, operator: 'equal', value: true });
    const read = (operator: string, value: unknown) => asksForMembers({ fact: 'memberOf', params: { group: 'grp_0123456789abcdef' }, operator, value });
    expect([read('equal', true), read('equal', false), read('notEqual', true), read('notEqual', false), read('not:equal', true), read('not:notEqual', true)]).to.deep.equal([true, false, false, true, false, true]);
    expect([membershipWords(true), membershipWords(false)]).to.deep.equal(['is a member of', 'is not a member of']);
    expect(namesGroups({ all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }, { any: [{ not: memberOfLeaf('grp_0123456789abcdef') }] }] })).to.equal(true);
    expect(namesGroups({ all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }, { not: { fact: 'email', operator: 'endsWith', value: '@x' } }] })).to.equal(false);
  });

  it('when groups are searched by name, then every word must be in the name (any case), names starting with the text come first, and an id finds its group', () => {
    const groups = [
      { id: 'grp_0000000000000001', name: 'VIP Sales' },
      { id: 'grp_0000000000000002', name: 'Sales Portugal' },
      { id: 'grp_0000000000000003', name: 'Sales Portugal staff' },
      { id: 'grp_0000000000000004', name: 'Contractors' },
    ];
    expect(matchGroups(groups, 'sales').map((g) => g.name)).to.deep.equal(['Sales Portugal', 'Sales Portugal staff', 'VIP Sales']);
    expect(matchGroups(groups, 'portugal STAFF').map((g) => g.name)).to.deep.equal(['Sales Portugal staff']);
    expect(matchGroups(groups, 'grp_0000000000000004').map((g) => g.name)).to.deep.equal(['Contractors']);
    expect(matchGroups(groups, '  ')).to.deep.equal([]);
    expect(matchGroups(groups, 'sales', 1)).to.have.length(1);
  });
});
