// The change feed numbers its entries 1, 2, 3… with no gaps, by inserting each with a chosen `_id` (the one
// mutual exclusion FerretDB offers). A reader relies on that: it reads by `_id` until the first missing number.
import { expect } from 'chai';
import type { Db } from 'mongodb';
import { startTestService, type TestService } from '../../helpers/service.js';
import { feedHeadSeq, feedId, forgetFeed, readChangesAfter, recordChanges } from '../../../src/snapshot/change-feed.js';
import { readHeader, writeSnapshot } from '../../../src/snapshot/snapshot-store.js';

describe('Change feed', () => {
  let t: TestService;
  let db: Db;
  before(async () => {
    t = await startTestService('feed');
    db = t.service.database.db;
  });
  after(async () => t.stop());

  const numbers = async (after: number) => (await readChangesAfter(after)).map((e) => Number(e._id));

  it('when many writes record at once, then each gets its own number, with no gap, in order', async () => {
    const start = await feedHeadSeq();
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => recordChanges({ users: [`u${i}`] })));
    expect([...seqs].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 40 }, (_, i) => start + 1 + i));
    const entries = await readChangesAfter(start);
    expect(entries.map((e) => Number(e._id))).to.deep.equal(Array.from({ length: 40 }, (_, i) => start + 1 + i));
    expect(entries.flatMap((e) => e.users).sort()).to.deep.equal(Array.from({ length: 40 }, (_, i) => `u${i}`).sort());
    expect(await feedHeadSeq()).to.equal(start + 40);
  });

  it('when another process has taken the next numbers, then a write takes the first free one after them', async () => {
    const start = await feedHeadSeq();
    // Another process's entries, which this one has not heard of.
    await db.collection('change_feed').insertMany([1, 2, 3].map((i) => ({ _id: feedId(start + i) as never, at: new Date(), users: [`other${i}`] })));
    const mine = await recordChanges({ memberships: ['grp_0000000000000000:someone'] });
    expect(mine).to.equal(start + 4);
    expect(await numbers(start)).to.deep.equal([start + 1, start + 2, start + 3, start + 4]);
  });

  it('when nothing changed, then nothing is recorded', async () => {
    const start = await feedHeadSeq();
    expect(await recordChanges({ users: [], memberships: [] })).to.equal(0);
    expect(await feedHeadSeq()).to.equal(start);
  });

  it('when numbers were pruned, then a process that knows nothing never writes them again', async () => {
    await recordChanges({ users: ['a'] });
    await writeSnapshot({ users: new Map(), members: new Map() }, await feedHeadSeq(), 'database');
    await recordChanges({ users: ['b'] });
    const second = await writeSnapshot({ users: new Map(), members: new Map() }, await feedHeadSeq(), 'database');
    expect(second.prunedTo).to.be.greaterThan(0);
    expect(await db.collection('change_feed').countDocuments({ _id: { $lte: feedId(second.prunedTo) } as never })).to.equal(0);
    // A process that starts now (nothing known) and has lost the head hint still writes above the pruned numbers.
    forgetFeed();
    await db.collection('change_feed_head').deleteMany({});
    const seq = await recordChanges({ users: ['c'] });
    expect(seq).to.be.greaterThan((await readHeader())!.prunedTo);
    expect((await readChangesAfter(seq - 1)).map((e) => e.users)).to.deep.equal([['c']]);
  });
});
