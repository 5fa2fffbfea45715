import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { oktaUser, scim } from './scim-helpers.js';
import { KEEP } from '../../../src/scim/request-log.js';

describe('SCIM: the log of recent requests', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('scimlog');
  });
  after(async () => t.stop());

  it('when SCIM requests are answered, then an admin reads them newest first with their outcome; other roles may not', async () => {
    const s = scim(t, await t.auth('hr-feed'));
    const user = oktaUser();
    await s.post('/Users', user).expect(201);
    await s.post('/Users', user).expect(409);
    const admin = await t.auth('admin');
    let items: Array<Record<string, unknown>> = [];
    // Recorded once answered, without holding the answer back: read until both are there.
    for (let i = 0; i < 50 && items.length < 2; i++) {
      items = (await t.api.get('/api/v1/scim/requests?limit=10').set(admin).expect(200)).body.items;
      if (items.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(items.slice(0, 2).map((r) => [r.method, r.path, r.status, r.outcome, r.scimType])).to.deep.equal([
      ['POST', '/scim/v2/Users', 409, 'client error', 'uniqueness'],
      ['POST', '/scim/v2/Users', 201, 'ok', undefined],
    ]);
    expect(items[0]!.key).to.include({ name: 'test hr-feed' });
    expect(await t.service.database.db.collection('scim_requests').countDocuments()).to.equal(2);
    await t.api.get('/api/v1/scim/requests').set(await t.auth('hr-feed')).expect(403);
    await t.api.get('/api/v1/scim/requests').set(await t.auth('viewer')).expect(403);
  });

  it('when more requests come than the log keeps, then the oldest go and about the newest KEEP stay', async () => {
    const log = t.service.database.db.collection<{ _id: string }>('scim_requests');
    // An old history, as if many requests had come before (ids sort by time: these are from 1970).
    await log.insertMany(Array.from({ length: KEEP + 100 }, (_, i) => ({ _id: `0000000000-${String(i).padStart(12, '0')}`, at: new Date(i), method: 'GET', path: '/scim/v2/Users', status: 200, durationMs: 1 })));
    const s = scim(t, await t.auth('hr-feed'));
    // Each process trims after every 50 of its own writes.
    for (let i = 0; i < 50; i++) await s.get('/ServiceProviderConfig').expect(200);
    let count = Infinity;
    for (let i = 0; i < 50 && count > KEEP + 50; i++) {
      count = await log.countDocuments();
      if (count > KEEP + 50) await new Promise((r) => setTimeout(r, 50));
    }
    expect(count).to.be.within(KEEP, KEEP + 50);
    // What went were the oldest: every request of this test is still there.
    const newest = (await t.api.get(`/api/v1/scim/requests?limit=${KEEP}`).set(await t.auth('admin')).expect(200)).body.items as Array<{ path: string }>;
    expect(newest.slice(0, 50).every((r) => r.path === '/scim/v2/ServiceProviderConfig')).to.equal(true);
    expect(await log.countDocuments({ _id: { $lt: '0000000000-000000000050' } })).to.equal(0);
  });
});
