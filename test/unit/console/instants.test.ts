// The console's instants in words (console/src/instants.ts): local time with its zone and UTC, as the group page
// shows the next change by time and explain when a user leaves. Pure functions, no browser.
import { expect } from 'chai';
import { instantWords, utcWords } from '../../../console/src/instants.js';

describe('console instants in words', () => {
  it('when an instant is written in UTC, then it is to the minute on a whole minute and to the second otherwise', () => {
    expect(utcWords('2027-03-02T09:14:00.000Z')).to.equal('2027-03-02 09:14 UTC');
    expect(utcWords('2027-03-02T09:14:05.000Z')).to.equal('2027-03-02 09:14:05 UTC');
    expect(utcWords('2027-03-02T00:00:00.001Z')).to.equal('2027-03-02 00:00:00 UTC');
    expect(utcWords('not an instant')).to.equal('not an instant');
  });

  it('when an instant is written for a viewer, then it is their local time with its zone, then UTC', () => {
    expect(instantWords('2027-03-02T09:14:00.000Z', 'en-GB', 'Europe/Lisbon')).to.equal('2 Mar 2027, 09:14 WET (2027-03-02 09:14 UTC)');
    expect(instantWords('2027-07-02T09:14:30.000Z', 'en-GB', 'Europe/Lisbon')).to.equal('2 Jul 2027, 10:14:30 WEST (2027-07-02 09:14:30 UTC)');
    expect(instantWords('2027-03-02T09:14:00.000Z', 'en-GB', 'Australia/Sydney')).to.equal('2 Mar 2027, 20:14 GMT+11 (2027-03-02 09:14 UTC)');
  });
});
