// Rate limits counted once across API processes (src/platform/rate-limit-store.ts): two stores in one process are
// two processes' counters on the same database.
import { expect } from 'chai';
import type { Options } from 'express-rate-limit';
import { startTestService, type TestService } from '../../helpers/service.js';
import { DatabaseRateLimitStore } from '../../../src/platform/rate-limit-store.js';

describe('rate-limit counters shared by processes', function () {
  this.timeout(60_000);
  let t: TestService;
  const stores: DatabaseRateLimitStore[] = [];
  const store = () => {
    const s = new DatabaseRateLimitStore('test:');
    s.init({ windowMs: 60_000 } as Options);
    stores.push(s);
    return s;
  };
  before(async () => {
    t = await startTestService('ratestore');
  });
  after(async () => {
    for (const s of stores) await s.shutdown();
    await t.stop();
  });

  it('when one key is counted by two processes, then each sees the sum of both (once the other has shared its count)', async () => {
    const a = store();
    const b = store();
    for (let i = 0; i < 3; i++) await a.increment('key:k1');
    await a.flush();
    expect((await b.increment('key:k1')).totalHits).to.equal(4);
    await b.flush();
    // a read the others' hits on its first increment; a second later it reads them again.
    await new Promise((r) => setTimeout(r, 1_050));
    expect((await a.increment('key:k1')).totalHits).to.equal(5);
    // Another key is counted apart.
    expect((await a.increment('key:k2')).totalHits).to.equal(1);
    const stored = await t.service.database.db.collection('rate_limits').find({ key: 'test:key:k1' }).toArray();
    // One document per process, each written by its process only.
    expect(stored).to.have.length(2);
    expect(stored.map((d) => d.hits).sort()[0]).to.equal(1);
  });
});
