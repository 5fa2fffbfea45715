import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { oktaUser, scim } from './scim-helpers.js';

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
});
