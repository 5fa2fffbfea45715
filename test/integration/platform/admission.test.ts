// Admission by class of work (src/platform/admission.ts): with BULK_REQUESTS_IN_FLIGHT bulk requests running, one
// more is answered 503 with Retry-After at once and writes nothing, while interactive requests are still answered.
// The running batch is held mid-flight by holding one of its users' locks in this process (the service runs here).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { withLocks, heldLockCount } from '../../../src/platform/db/locks.js';
import { userLock } from '../../../src/directory/lock-keys.js';
import { expectScimError, oktaUser, scim } from '../scim/scim-helpers.js';

const user = (id: string, department = 'Sales') => ({ externalId: id, email: `${id}@example.com`, firstName: 'A', lastName: 'B', type: 'learner', status: 'active', fields: { department } });

describe('admission of bulk requests', function () {
  this.timeout(60_000);
  let t: TestService;
  before(async () => {
    t = await startTestService('admission', { BULK_REQUESTS_IN_FLIGHT: '1' });
  });
  after(async () => t.stop());

  /**
   * A users batch held in flight: one of its users' locks is held in this process, so the batch has passed
   * admission and waits (for the held lock, its twenty others queued at once: more than any background flow takes)
   * until `letGo`. `first` is its answer; `own` its other users.
   */
  async function batchHeldInFlight(auth: { Authorization: string }, prefix: string) {
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => (holding = resolve));
    const held = `${prefix}-held`;
    const holder = withLocks([userLock(held)], async () => {
      holding();
      await gate;
    });
    await holds;
    const lockedBefore = heldLockCount();
    const own = Array.from({ length: 20 }, (_, i) => user(`${prefix}${i}`));
    const first = t.api.post('/api/v1/users/batch').set(auth).send({ users: [user(held), ...own] }).then((r) => r);
    for (const until = Date.now() + 10_000; heldLockCount() < lockedBefore + own.length; ) {
      if (Date.now() > until) {
        letGo();
        await holder;
        throw new Error('the held batch never reached its users\' locks');
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return {
      first,
      ids: [held, ...own.map((u) => u.externalId)],
      async release() {
        letGo();
        await holder;
      },
    };
  }

  it('when a batch is running and the bound is 1, then a second batch is 503 with Retry-After at once and writes nothing, while a PATCH and a members page are answered', async () => {
    const admin = await t.auth('admin');
    const hr = await t.auth('hr-feed');
    await t.api.put('/api/v1/fields/department').set(admin).send({ label: 'Department', type: 'text' }).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('adm-a1')] }).expect(200);
    const group = await t.api.post('/api/v1/groups').set(admin).send({ name: 'Admission manual', type: 'manual' }).expect(201);
    const users = t.service.database.db.collection('users');

    const held = await batchHeldInFlight(hr, 'adm-b');
    try {
      const started = Date.now();
      const refused = await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('adm-c1')] });
      const ms = Date.now() - started;
      expect(refused.status).to.equal(503);
      expect(refused.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(refused.body).to.include({ status: 503, title: 'Service unavailable' });
      expect(refused.body.detail).to.contain('BULK_REQUESTS_IN_FLIGHT');
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
      expect(ms, 'answered at once').to.be.below(1000);
      expect(await users.findOne({ _id: 'adm-c1' as never }), 'the refused batch wrote nothing').to.equal(null);

      // Interactive work is still answered meanwhile.
      const patched = await t.api.patch('/api/v1/users/adm-a1').set(hr).send({ fields: { department: 'Ops' } }).expect(200);
      expect(patched.body.fields).to.deep.equal({ department: 'Ops' });
      expect(((await users.findOne({ _id: 'adm-a1' as never })) as { fields?: unknown } | null)?.fields).to.deep.equal({ department: 'Ops' });
      await t.api.get(`/api/v1/groups/${group.body.id}/members`).set(admin).expect(200);

      await held.release();
      expect((await held.first).status, 'the running batch completes').to.equal(200);
      expect(await users.countDocuments({ _id: { $in: held.ids } as never })).to.equal(21);
    } finally {
      await held.release();
    }

    // Its slot is free again: the refused batch, sent again, is written.
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('adm-c1')] }).expect(200);
    expect(await users.findOne({ _id: 'adm-c1' as never })).to.not.equal(null);
  });

  it('when a batch is running and the bound is 1, then a SCIM Bulk request is refused too, as a SCIM error with Retry-After, and writes nothing; sent again once the batch is done, it is applied', async () => {
    const hr = await t.auth('hr-feed');
    const s = scim(t, hr);
    const users = t.service.database.db.collection('users');
    const scimUser = oktaUser();
    const bulk = { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [{ method: 'POST', path: '/Users', bulkId: 'u', data: scimUser }] };

    const held = await batchHeldInFlight(hr, 'adm-s');
    try {
      const refused = await s.post('/Bulk', bulk);
      expectScimError(refused, 503);
      expect(JSON.parse(refused.text).detail).to.contain('BULK_REQUESTS_IN_FLIGHT');
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
      expect(await users.countDocuments({ email: scimUser.userName as string }), 'the refused Bulk wrote nothing').to.equal(0);
      await held.release();
      expect((await held.first).status).to.equal(200);
    } finally {
      await held.release();
    }
    const applied = await s.post('/Bulk', bulk);
    expect(applied.status, applied.text).to.equal(200);
    expect(await users.countDocuments({ email: scimUser.userName as string })).to.equal(1);
  });
});
