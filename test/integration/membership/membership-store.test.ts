// The membership store under races: two reconciles of one group at once (two workers taking the same job, or a job
// and an admin's sync) must end with the memberships a single run makes and one history entry per change.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { syncGroup } from '../../../src/membership/group-sync.js';
import { createGroup, defineField, historyOf, memberIds, userBody, type Auth } from './membership-helpers.js';

const valve = { share: 0.5, minMembers: 10 };

describe('Membership store: exactly once under a race', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let groupId: string;
  const db = () => t.service.database.db;
  const ids = Array.from({ length: 40 }, (_, i) => `ms${String(i).padStart(3, '0')}`);

  before(async () => {
    t = await startTestService('memstore');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'site', { label: 'Site', type: 'text' });
    // Paused while the users arrive, so that only the syncs below move anyone.
    const g = await createGroup(t, admin, { type: 'automatic', paused: true, rule: { conditions: { all: [{ fact: 'field', params: { key: 'site' }, operator: 'equal', value: 'north' }] } } });
    groupId = g.id;
    await t.api
      .post('/api/v1/users/batch')
      .set(hr)
      .send({ users: ids.map((externalId) => userBody({ externalId, fields: { site: 'north' } })) })
      .expect(200);
    await db().collection('groups').updateOne({ _id: groupId as never }, { $set: { paused: false } });
  });
  after(async () => t.stop());

  const reconcileTwiceAtOnce = (tag: string) =>
    Promise.all(
      ['a', 'b'].map((w, i) =>
        syncGroup(groupId, { jobId: `${tag}-${w}`, at: new Date(Date.now() + i), actor: `test ${w}`, confirmRemovals: true, valve }),
      ),
    );

  it('when two reconciles of the same group add at once, then each user is added once, with one history entry', async () => {
    const results = await reconcileTwiceAtOnce('add');
    expect(results.every((r) => r.memberCount === ids.length)).to.equal(true);
    expect(await memberIds(t, admin, groupId)).to.deep.equal(ids);
    const added = await historyOf(t, admin, groupId, { action: 'added' });
    expect(added.map((h) => h.externalId).sort()).to.deep.equal(ids);
    // Each membership's entry was written by the writer whose insert won.
    const stored = await db().collection('memberships').find({ group: groupId }).toArray();
    expect(new Set(stored.map((m) => m.run)).size).to.be.at.least(1);
    expect(stored.length).to.equal(ids.length);
  });

  it('when two reconciles of the same group remove at once, then each user is removed once, with one history entry', async () => {
    const leaving = ids.slice(0, 15);
    // Behind the API's back: drift that only a sync repairs.
    await db().collection('users').updateMany({ _id: { $in: leaving } as never }, { $set: { 'fields.site': 'south' } });
    await reconcileTwiceAtOnce('remove');
    expect(await memberIds(t, admin, groupId)).to.deep.equal(ids.slice(15));
    const removed = await historyOf(t, admin, groupId, { action: 'removed' });
    expect(removed.map((h) => h.externalId).sort()).to.deep.equal(leaving);
    expect(await db().collection('membership_history').countDocuments({ group: groupId, action: 'added' })).to.equal(ids.length);
  });
});
