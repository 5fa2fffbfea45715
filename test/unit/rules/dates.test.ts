import { expect } from 'chai';
import { parseDate } from '../../../src/rules/dates.js';

describe('rules: dates', () => {
  it('when a calendar date is read, then it is UTC midnight', () => {
    expect(parseDate('2024-02-29')).to.equal(Date.UTC(2024, 1, 29));
    expect(parseDate('0099-01-01')).to.equal(new Date('0099-01-01T00:00:00Z').getTime());
  });

  it('when an instant is read, then its offset is applied and fractions are milliseconds', () => {
    expect(parseDate('2024-05-01T09:30:00Z')).to.equal(Date.UTC(2024, 4, 1, 9, 30));
    expect(parseDate('2024-05-01T09:30+02:00')).to.equal(Date.UTC(2024, 4, 1, 7, 30));
    expect(parseDate('2024-05-01T09:30:00.123456-01:30')).to.equal(Date.UTC(2024, 4, 1, 11, 0, 0, 123));
    expect(parseDate('2024-05-01T09:30:00.1Z')).to.equal(Date.UTC(2024, 4, 1, 9, 30, 0, 100));
  });

  it('when a string is not a date of those forms, then it is NaN, never guessed', () => {
    for (const bad of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-05-01T09:30:00', '2024-05-01 09:30Z', '24:00', '2024-05-01T24:00Z', '', 'May 1, 2024', 20240501, null]) {
      expect(parseDate(bad), String(bad)).to.be.NaN;
    }
  });
});
