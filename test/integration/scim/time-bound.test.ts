import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { expectScimError, oktaUser, scim } from './scim-helpers.js';

describe('SCIM: a request past the time bound', () => {
  let t: TestService;
  before(async () => {
    // The shortest bound the configuration takes: a Bulk of a few hundred users outlasts it.
    t = await startTestService('scimbound', { REQUEST_TIMEOUT_MS: '100' });
  });
  after(async () => t.stop());

  it('when a SCIM request outlasts the service time bound, then the 503 is a SCIM error with Retry-After, not a problem document', async () => {
    const s = scim(t, await t.auth('hr-feed'));
    const Operations = Array.from({ length: 400 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: oktaUser() }));
    const res = await s.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations });
    expectScimError(res, 503);
    expect(res.headers['retry-after']).to.equal('5');
  });
});
