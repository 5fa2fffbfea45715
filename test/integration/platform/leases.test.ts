// Leases by insert (src/platform/db/leases.ts): two lease stores in one process are two holders, as two processes
// would be; the database decides who holds a key.
import { expect } from 'chai';
import mongoose from 'mongoose';
import { startTestService, type TestService } from '../../helpers/service.js';
import { startLeaseStore, type LeaseStore } from '../../../src/platform/db/leases.js';
import { withLocks } from '../../../src/platform/db/locks.js';

describe('leases across processes (by insert)', function () {
  this.timeout(60_000);
  let t: TestService;
  const stores: LeaseStore[] = [];
  const store = async (ttlMs = 2_000, waitMs = 5_000) => {
    const s = await startLeaseStore({ ttlMs, waitMs });
    stores.push(s);
    return s;
  };
  const leaseDocs = () => mongoose.connection.collection<{ _id: string; holder: string }>('leases').find({}).toArray();

  before(async () => {
    t = await startTestService('leases');
  });
  after(async () => {
    for (const s of stores) await s.stop();
    await t.stop();
  });
  // A failed test leaves what it held: the next starts from no lease at all.
  afterEach(async () => {
    await mongoose.connection.collection('leases').deleteMany({});
  });

  it('when two holders want the same keys, then one holds them until it releases, and the other gets them after', async () => {
    const a = await store();
    const b = await store();
    const aHeld = await a.acquire(['user:x', 'user:y']);
    let bHolds = false;
    const bDone = b.acquire(['user:y', 'user:z']).then((held) => {
      bHolds = true;
      return held;
    });
    // Waiting for user:y, b gives back what sorts after it (user:z): it holds nothing while it waits.
    const who = async () => (await leaseDocs()).map((d) => `${d._id}=${d.holder === a.holder ? 'a' : 'b'}`).sort();
    const deadline = Date.now() + 5_000;
    while ((await who()).length !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(bHolds).to.equal(false);
    expect(await who()).to.deep.equal(['user:x=a', 'user:y=a']);
    await a.release(aHeld, 'all');
    const bHeld = await bDone;
    expect((await leaseDocs()).map((d) => `${d._id}=${d.holder === b.holder ? 'b' : 'a'}`).sort()).to.deep.equal(['user:y=b', 'user:z=b']);
    await b.release(bHeld, 'all');
    expect(await leaseDocs()).to.deep.equal([]);
  });

  it('when twelve holders race for one key, then exactly one holds it at a time', async () => {
    const racers = await Promise.all(Array.from({ length: 12 }, () => store(2_000, 20_000)));
    let inside = 0;
    let most = 0;
    let entries = 0;
    await Promise.all(
      racers.map(async (s) => {
        for (let round = 0; round < 3; round++) {
          const held = await s.acquire(['group:race']);
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
          entries++;
          await s.release(held, 'all');
        }
      }),
    );
    expect(entries).to.equal(36);
    expect(most).to.equal(1);
  });

  it('when two holders take the same two keys in opposite orders, again and again, then both always finish (no deadlock)', async () => {
    const a = await store(2_000, 20_000);
    const b = await store(2_000, 20_000);
    const rounds = async (s: LeaseStore, keys: string[]) => {
      for (let i = 0; i < 15; i++) {
        const held = await s.acquire(keys);
        await new Promise((r) => setTimeout(r, 2));
        await s.release(held, 'all');
      }
    };
    await Promise.all([rounds(a, ['user:k1', 'user:k2']), rounds(b, ['user:k2', 'user:k1'])]);
    expect(await leaseDocs()).to.deep.equal([]);
  });

  it('when a holder stops without releasing (its holder document gone), then another takes its lease over at once', async () => {
    const dead = await store(600);
    const alive = await store(600, 10_000);
    await dead.acquire(['course:C1']);
    // A killed process: its heartbeat stops and nothing is released.
    await dead.stop();
    const started = Date.now();
    const held = await alive.acquire(['course:C1']);
    expect(Date.now() - started).to.be.lessThan(5_000);
    const [doc] = await leaseDocs();
    expect(doc).to.include({ _id: 'course:C1', holder: alive.holder });
    await alive.release(held, 'all');
  });

  it('when a killed process left a lease and its heartbeat has not expired yet, then another waits until it expires, then takes it over', async () => {
    const db = mongoose.connection;
    // What a SIGKILLed process leaves: its lease, and its holder document, last renewed a moment ago.
    await db.collection('lease_holders').insertOne({ _id: 'ghost' as never, expiresAt: new Date(Date.now() + 800), host: 'gone', pid: 1, startedAt: new Date() });
    await db.collection('leases').insertOne({ _id: 'course:C2' as never, holder: 'ghost', token: 'g1', at: new Date() });
    const alive = await store(2_000, 10_000);
    const started = Date.now();
    const held = await alive.acquire(['course:C2']);
    expect(Date.now() - started).to.be.within(600, 5_000);
    const [doc] = await leaseDocs();
    expect(doc).to.include({ _id: 'course:C2', holder: alive.holder });
    // One claim names the instance taken over.
    expect((await db.collection('lease_claims').find({}).toArray()).map((c) => String(c._id))).to.satisfy((ids: string[]) => ids.some((id) => id.startsWith('course:C2#g1#')));
    await alive.release(held, 'all');
  });

  it('when flows of this process lock thousands of users, then each key is leased once, another process waits for one of them, and a lease lingers a moment for the next flow before it goes back', async () => {
    const users = (prefix: string) => Array.from({ length: 3000 }, (_, i) => `user:${prefix}${i}`);
    const other = await store(2_000, 20_000);
    let otherGot = 0;
    let otherDone: Promise<void> | undefined;
    let inside = 0;
    await Promise.all([
      withLocks(users('a'), async () => {
        await withLocks(users('b'), async () => {
          inside = (await leaseDocs()).length;
          // Another process wants a key this one holds: it waits until the flows are done.
          otherDone = other.acquire(['user:a7']).then(async (acq) => {
            otherGot = Date.now();
            await other.release(acq, 'all');
          });
          await new Promise((r) => setTimeout(r, 300));
          expect(otherGot).to.equal(0);
        });
      }),
    ]);
    expect(inside).to.equal(6000);
    await otherDone;
    expect(otherGot).to.be.greaterThan(0);
    // A lease no flow holds lingers: the next flow within a moment takes the same document, asking the database nothing.
    await withLocks(['group-counts:g1'], async () => undefined);
    const lingering = await mongoose.connection.collection<{ _id: string; acq: string }>('leases').findOne({ _id: 'group-counts:g1' });
    await withLocks(['group-counts:g1'], async () => {
      const again = await mongoose.connection.collection<{ _id: string; acq: string }>('leases').findOne({ _id: 'group-counts:g1' });
      expect(again?.acq).to.equal(lingering?.acq);
    });
    const deadline = Date.now() + 2_000;
    while ((await leaseDocs()).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await leaseDocs()).to.deep.equal([]);
  });

  it('when a key stays held past the wait, then the caller fails with a 503 and holds nothing', async () => {
    const a = await store();
    const b = await store(2_000, 300);
    const held = await a.acquire(['field:k2']);
    const err = await b.acquire(['field:k1', 'field:k2']).then(() => undefined, (e: unknown) => e as { status?: number });
    expect(err?.status).to.equal(503);
    expect((await leaseDocs()).map((d) => d._id)).to.deep.equal(['field:k2']);
    await a.release(held, 'all');
  });
});
