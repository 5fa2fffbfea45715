import { expect } from 'chai';
import { addDays, isTimeZone, parseDate, useTimeZone } from '../../../src/rules/dates.js';

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

describe('rules: calendar dates are days in TIMEZONE', () => {
  afterEach(() => useTimeZone('UTC'));

  it('when the zone is Europe/Lisbon, then a date begins at midnight there, in winter (UTC+0) and summer (UTC+1)', () => {
    useTimeZone('Europe/Lisbon');
    expect(parseDate('2025-01-15')).to.equal(Date.UTC(2025, 0, 15, 0));
    expect(parseDate('2025-07-15')).to.equal(Date.UTC(2025, 6, 14, 23));
    // Instants are instants whatever the zone.
    expect(parseDate('2025-07-15T00:00:00Z')).to.equal(Date.UTC(2025, 6, 15));
  });

  it('when the zone is Australia/Sydney, then a date begins at midnight there (UTC+11 in January, +10 in July)', () => {
    useTimeZone('Australia/Sydney');
    expect(parseDate('2025-01-15')).to.equal(Date.UTC(2025, 0, 14, 13));
    expect(parseDate('2025-07-15')).to.equal(Date.UTC(2025, 6, 14, 14));
  });

  it('when days are added across a 23-hour day (Lisbon, 30 March 2025), then the result is still local midnight', () => {
    useTimeZone('Europe/Lisbon');
    // 29 March is UTC+0, 31 March is UTC+1: one calendar day later but 47 hours between the two midnights over two days.
    expect(addDays('2025-03-29', 1)).to.equal(Date.UTC(2025, 2, 30, 0));
    expect(addDays('2025-03-29', 2)).to.equal(Date.UTC(2025, 2, 30, 23));
    expect(addDays('2025-03-29', 2) - addDays('2025-03-29', 1)).to.equal(23 * 3_600_000);
    // The fraction of a day is hours on top of the whole days' midnight.
    expect(addDays('2025-03-29', 2.5)).to.equal(Date.UTC(2025, 2, 30, 23) + 12 * 3_600_000);
    // A 25-hour day (26 October 2025).
    expect(addDays('2025-10-26', 1) - addDays('2025-10-26', 0)).to.equal(25 * 3_600_000);
  });

  it('when days are added across Sydney\'s daylight-saving days (6 April and 5 October 2025), then they end at local midnight', () => {
    useTimeZone('Australia/Sydney');
    expect(addDays('2025-04-06', 1) - addDays('2025-04-06', 0)).to.equal(25 * 3_600_000);
    expect(addDays('2025-10-05', 1) - addDays('2025-10-05', 0)).to.equal(23 * 3_600_000);
    expect(addDays('2025-04-01', 10)).to.equal(Date.UTC(2025, 3, 10, 14)); // 11 April 00:00 AEST (+10)
  });

  it('when a daylight-saving jump skips midnight (America/Sao_Paulo, 4 November 2018), then the day begins at the jump', () => {
    useTimeZone('America/Sao_Paulo');
    // 00:00 local became 01:00 (-02:00): the day's first instant is 03:00 UTC.
    expect(parseDate('2018-11-04')).to.equal(Date.UTC(2018, 10, 4, 3));
    expect(parseDate('2018-11-03')).to.equal(Date.UTC(2018, 10, 3, 3));
    expect(parseDate('2018-11-05')).to.equal(Date.UTC(2018, 10, 5, 2));
  });

  it('when an instant is shifted, then days are 24 hours whatever the zone', () => {
    useTimeZone('Europe/Lisbon');
    expect(addDays('2025-03-29T12:00:00Z', 2)).to.equal(Date.UTC(2025, 2, 31, 12));
    expect(addDays('2025-03-29T12:00:00Z', 0.001)).to.equal(Date.UTC(2025, 2, 29, 12) + 86_400);
    expect(addDays('not a date', 1)).to.be.NaN;
    expect(addDays('2025-03-29', -1)).to.be.NaN;
  });

  it('when a name is checked, then IANA zones this Node knows are accepted and others refused', () => {
    expect(isTimeZone('Europe/Lisbon')).to.equal(true);
    expect(isTimeZone('UTC')).to.equal(true);
    expect(isTimeZone('Europe/Lisboa')).to.equal(false);
    expect(isTimeZone('')).to.equal(false);
  });
});
