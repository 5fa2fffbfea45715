// Rate limits turned off (both budgets 0, as the README allows) and the batch budget covering the member uploads.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, putUser, userBody } from '../membership/membership-helpers.js';

describe('rate limits: off, and the batch budget on member uploads', function () {
  this.timeout(60_000);

  it('when both budgets are 0, then the service starts and serves without limits', async () => {
    const t = await startTestService('limitsoff', { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_BATCHES_PER_MINUTE: '0' });
    try {
      const res = await t.api.get('/api/v1/users').set(await t.auth('viewer')).expect(200);
      expect(res.headers).to.not.have.property('ratelimit');
    } finally {
      await t.stop();
    }
  });

  describe('batch budget', () => {
    let t: TestService;
    before(async () => {
      t = await startTestService('limitsmembers', { RATE_LIMIT_BATCHES_PER_MINUTE: '2' });
    });
    after(async () => t.stop());

    it('when a key sends more member uploads and copies in a minute than the batch budget, then the extra one is 429 and writes nothing', async () => {
      const admin = await t.auth('admin');
      const user = await putUser(t, await t.auth('hr-feed'), userBody());
      const group = await createGroup(t, admin, { type: 'manual' });
      const upload = () => t.api.post(`/api/v1/groups/${group.id}/members/import`).set(admin).set('Content-Type', 'text/csv').send(`externalId\n${user}\n`);
      await upload().expect(200);
      await t.api.post(`/api/v1/groups/${group.id}/members/copy`).set(admin).send({ fromBranch: 'Nowhere' }).expect(200);
      const limited = await upload().expect(429);
      expect(limited.body.detail).to.contain('batches');
    });
  });
});
