import { expect } from 'chai';
import { resultCounts } from '../../../src/jobs/scheduler.js';

describe('the counts a job logs with its result', () => {
  it('when a result holds counts and per-group detail, then the log keeps the counts and sizes the detail', () => {
    const fullSync = { partitions: 3, users: 1200, groups: 4, added: 42, removed: 2, held: { g1: 10 }, failed: {}, failedPartitions: [] };
    expect(resultCounts(fullSync)).to.deep.equal({ partitions: 3, users: 1200, groups: 4, added: 42, removed: 2, held: 1, failed: 0, failedPartitions: 0 });
    expect(resultCounts({ groupId: 'g', skipped: 'paused' })).to.deep.equal({ groupId: 'g', skipped: 'paused' });
    expect(resultCounts(undefined)).to.equal(undefined);
    expect(resultCounts(null)).to.equal(undefined);
  });
});
