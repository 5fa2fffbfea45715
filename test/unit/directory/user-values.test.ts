import { expect } from 'chai';
import { checkFieldValues, fieldValueFromText, fieldValueProblem, isCalendarDate, type FieldDefinition } from '../../../src/directory/user-values.js';

const defs = new Map<string, FieldDefinition>([
  ['dept', { key: 'dept', label: 'Dept', type: 'select', options: ['A', 'B'] }],
  ['title', { key: 'title', label: 'Title', type: 'text' }],
  ['num', { key: 'num', label: 'Num', type: 'number' }],
  ['flag', { key: 'flag', label: 'Flag', type: 'boolean' }],
  ['day', { key: 'day', label: 'Day', type: 'date' }],
]);

describe('user field values', () => {
  it('when a date is checked, then only real calendar dates written YYYY-MM-DD pass', () => {
    for (const ok of ['2024-02-29', '2025-12-31', '1999-01-01']) expect(isCalendarDate(ok), ok).to.equal(true);
    for (const bad of ['2025-02-29', '2025-02-30', '2025-13-01', '2025-04-31', '2025-1-1', '2025-01-01T00:00:00Z', '', '20250101']) {
      expect(isCalendarDate(bad), bad).to.equal(false);
    }
  });

  it('when values are checked, then each type takes only its own values', () => {
    expect(fieldValueProblem(defs.get('dept')!, 'A')).to.equal(undefined);
    expect(fieldValueProblem(defs.get('dept')!, 'C')).to.contain('"A", "B"');
    expect(fieldValueProblem(defs.get('title')!, 5)).to.contain('string');
    expect(fieldValueProblem(defs.get('title')!, 'x'.repeat(1001))).to.contain('1000');
    expect(fieldValueProblem(defs.get('num')!, 1.5)).to.equal(undefined);
    expect(fieldValueProblem(defs.get('num')!, Infinity)).to.contain('number');
    expect(fieldValueProblem(defs.get('num')!, '1')).to.contain('number');
    expect(fieldValueProblem(defs.get('flag')!, 'true')).to.contain('true or false');
    expect(fieldValueProblem(defs.get('day')!, '2025-02-30')).to.contain('calendar date');
  });

  it('when a set of fields is checked, then every problem is named by fields.<key>, and nulls clear or vanish as asked', () => {
    const { values, errors } = checkFieldValues({ dept: 'B', nope: 1, num: 'x', title: null }, defs, 'clear');
    expect(errors.map((e) => e.path)).to.deep.equal(['fields.nope', 'fields.num']);
    expect(values).to.deep.equal({ dept: 'B', title: null });
    expect(checkFieldValues({ title: null }, defs, 'omit').values).to.deep.equal({});
  });

  it('when a value is written as text, then numbers and booleans convert and anything else is left for the check to name', () => {
    expect(fieldValueFromText(defs.get('num')!, ' 42 ')).to.equal(42);
    expect(fieldValueFromText(defs.get('num')!, '-1.5e2')).to.equal(-150);
    expect(fieldValueFromText(defs.get('num')!, '12abc')).to.equal('12abc');
    expect(fieldValueFromText(defs.get('num')!, '0x10')).to.equal('0x10');
    expect(fieldValueFromText(defs.get('flag')!, 'TRUE')).to.equal(true);
    expect(fieldValueFromText(defs.get('flag')!, 'false')).to.equal(false);
    expect(fieldValueFromText(defs.get('flag')!, 'yes')).to.equal('yes');
    expect(fieldValueFromText(defs.get('day')!, '2020-01-01')).to.equal('2020-01-01');
  });
});
