// The change feed numbers its entries 1, 2, 3… with no gaps, by inserting each with a chosen `_id` (the one
// mutual exclusion FerretDB offers). A reader relies on that: it reads by `_id` until the first missing number.
import { expect } from 'chai';
import { Collection, type Db } from 'mongodb';
import { startTestService, type TestService } from '../../helpers/service.js';
import { FEED_BUCKET, MAX_IDS_PER_ENTRY, feedHeadSeq, feedId, forgetFeed, holdFeed, pruneFeed, readChangesAfter, recordChanges, releaseFeed } from '../../../src/snapshot/change-feed.js';
import { readHeader, startSnapshot, writeSnapshot } from '../../../src/snapshot/snapshot-store.js';

describe('Change feed', () => {
  let t: TestService;
  let db: Db;
  before(async () => {
    t = await startTestService('feed');
    db = t.service.database.db;
  });
  after(async () => t.stop());

  const numbers = async (after: number) => (await readChangesAfter(after)).map((e) => Number(e._id));

  /** The queries sent to the change feed while `work` runs (the driver's find, which findOne goes through). */
  async function feedQueriesDuring(work: () => Promise<void>): Promise<number> {
    const find = Collection.prototype.find;
    let queries = 0;
    Collection.prototype.find = function (this: Collection, ...args: Parameters<typeof find>) {
      if (this.collectionName === 'change_feed') queries++;
      return find.apply(this, args);
    } as typeof find;
    try {
      await work();
    } finally {
      Collection.prototype.find = find;
    }
    return queries;
  }

  it('when many writes record at once, then they share entries (one append at a time), numbered with no gap, each change named', async () => {
    const start = await feedHeadSeq();
    const seqs = await Promise.all(Array.from({ length: 40 }, (_, i) => recordChanges({ users: [`u${i}`], memberships: [`grp_0000000000000000:u${i}`] })));
    const entries = await readChangesAfter(start);
    const numbers = entries.map((e) => Number(e._id));
    // The first write appends alone; the rest, which arrived while it was being written, go together in the next.
    expect(numbers.length).to.be.within(1, 2);
    expect(numbers).to.deep.equal(Array.from({ length: numbers.length }, (_, i) => start + 1 + i));
    expect([...new Set(seqs)].sort((a, b) => a - b)).to.deep.equal(numbers);
    expect(entries.flatMap((e) => e.users).sort()).to.deep.equal(Array.from({ length: 40 }, (_, i) => `u${i}`).sort());
    expect(entries.flatMap((e) => e.memberships).sort()).to.deep.equal(Array.from({ length: 40 }, (_, i) => `grp_0000000000000000:u${i}`).sort());
    // Each write is answered with the number of the entry that names it.
    for (const [i, seq] of seqs.entries()) expect(entries.find((e) => Number(e._id) === seq)!.users, `write ${i}`).to.include(`u${i}`);
    expect(await feedHeadSeq()).to.equal(numbers.at(-1));
  });

  it('when waiting writes name more than an entry holds, then they fill several entries in turn, none lost', async () => {
    const start = await feedHeadSeq();
    const ids = (w: number) => Array.from({ length: 3000 }, (_, k) => `grp_0000000000000000:w${w}-${k}`);
    await Promise.all(Array.from({ length: 12 }, (_, w) => recordChanges({ memberships: ids(w) })));
    const entries = await readChangesAfter(start);
    expect(entries.length).to.be.at.least(3);
    for (const e of entries) expect(e.memberships!.length).to.be.at.most(3000 * Math.max(1, Math.floor(MAX_IDS_PER_ENTRY / 3000)));
    expect(entries.flatMap((e) => e.memberships).length).to.equal(12 * 3000);
  });

  it('when another process has taken the next numbers, then a write takes the first free one after them', async () => {
    const start = await feedHeadSeq();
    // Another process's entries, which this one has not heard of.
    await db.collection('change_feed').insertMany([1, 2, 3].map((i) => ({ _id: feedId(start + i) as never, at: new Date(), users: [`other${i}`] })));
    const mine = await recordChanges({ memberships: ['grp_0000000000000000:someone'] });
    expect(mine).to.equal(start + 4);
    expect(await numbers(start)).to.deep.equal([start + 1, start + 2, start + 3, start + 4]);
  });

  it('when a reader is 150 entries behind, then it reads them in order with a query per bucket, not one per entry', async () => {
    const start = await feedHeadSeq();
    for (let i = 0; i < 150; i++) await recordChanges({ users: [`behind${i}`] });
    const finds = await feedQueriesDuring(async () => {
      const entries = await readChangesAfter(start);
      expect(entries.map((e) => Number(e._id))).to.deep.equal(Array.from({ length: 150 }, (_, i) => start + 1 + i));
      expect(entries.map((e) => e.users![0])).to.deep.equal(Array.from({ length: 150 }, (_, i) => `behind${i}`));
    });
    // By `_id` up to the first bucket boundary, then a query per bucket, then the read by `_id` that finds the head.
    const firstWhole = Math.ceil((start + 1) / FEED_BUCKET);
    const byId = Math.min(150, firstWhole * FEED_BUCKET - (start + 1));
    const buckets = Math.floor((start + 150) / FEED_BUCKET) - firstWhole + 1;
    expect(finds).to.equal(byId + buckets + 1);
    expect(finds).to.be.at.most(FEED_BUCKET + Math.ceil(150 / FEED_BUCKET) + 1);
    // Nothing new: the read by `_id` that finds the head.
    const none = await feedQueriesDuring(async () => {
      expect(await readChangesAfter(start + 150)).to.deep.equal([]);
    });
    expect(none).to.equal(1);
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
    await db.collection('change_feed_head').deleteMany({ _id: 'feed-head' as never });
    const seq = await recordChanges({ users: ['c'] });
    expect(seq).to.be.greaterThan((await readHeader())!.prunedTo);
    expect((await readChangesAfter(seq - 1)).map((e) => e.users)).to.deep.equal([['c']]);
  });

  it('when snapshots stored while a long build ran pruned entries it would need, then the build does not become current', async () => {
    await recordChanges({ users: ['built-from'] });
    const builtAt = await feedHeadSeq();
    const build = startSnapshot(builtAt, 'database');
    await build.addUser('built-from', { status: 'active', type: 'learner' } as never);
    // Two compactions meanwhile: the second prunes up to the first's number, past where the build stands.
    await recordChanges({ users: ['meanwhile-1'] });
    await writeSnapshot({ users: new Map(), members: new Map() }, await feedHeadSeq(), 'feed');
    await recordChanges({ users: ['meanwhile-2'] });
    const current = await writeSnapshot({ users: new Map(), members: new Map() }, await feedHeadSeq(), 'feed');
    expect(current.prunedTo).to.be.greaterThan(builtAt);
    const finished = await build.finish();
    expect(finished.gen).to.equal(current.gen);
    expect((await readHeader())!.gen).to.equal(current.gen);
    // The build's chunk (its one user) is deleted; the compactions held nothing.
    expect(await db.collection('snapshot_chunks').countDocuments({ gen: { $ne: current.gen } } as never)).to.equal(0);
  });

  it('when the feed is pruned on its own (no snapshot written), then a process that knows nothing still writes above what was pruned', async () => {
    await recordChanges({ users: ['d'] });
    const pruned = await recordChanges({ users: ['e'] });
    await pruneFeed(pruned);
    forgetFeed();
    await db.collection('change_feed_head').deleteMany({ _id: 'feed-head' as never });
    const seq = await recordChanges({ users: ['f'] });
    expect(seq).to.be.greaterThan(pruned);
    expect((await readChangesAfter(pruned)).map((e) => e.users)).to.deep.equal([['f']]);
  });

  it('when a reader holds the feed, then pruning leaves every entry after its position until it lets go', async () => {
    await recordChanges({ users: ['before'] });
    const position = await holdFeed('a-long-sync');
    expect(await holdFeed('a-long-sync'), 'holding again keeps the first position').to.equal(position);
    const mine = await recordChanges({ users: ['meanwhile'] });
    await pruneFeed(mine + 10);
    expect((await readChangesAfter(position)).flatMap((e) => e.users)).to.deep.equal(['meanwhile']);
    await releaseFeed('a-long-sync');
    await pruneFeed(mine);
    expect(await db.collection('change_feed').countDocuments({ _id: { $lte: feedId(mine) } as never })).to.equal(0);
  });
});
