import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { replayDue } from '../../../src/directory/user-writes.js';
import { createGroup, defineField, getGroup, historyOf, patchUser, putUser, rules, userBody, type Auth } from './membership-helpers.js';

describe('Default group: every user created from then on joins it, by PUT, batch or CSV import', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const stored = (groupId: string) =>
    t.service.database.db.collection('memberships').find({ group: groupId }).sort({ externalId: 1 }).toArray();
  const storedIds = async (groupId: string) => (await stored(groupId)).map((m) => m.externalId as string);
  const setDefault = async (groupId: string, isDefault = true) =>
    t.api.patch(`/api/v1/groups/${groupId}`).set(admin).send({ isDefault }).expect(200);

  before(async () => {
    t = await startTestService('defaultgroup');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: ['Sales', 'Engineering'] });
  });
  after(async () => t.stop());

  it('with no default group, a new user joins nothing', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    await putUser(t, hr, userBody());
    expect(await storedIds(group.id)).to.deep.equal([]);
  });

  it('a user created by PUT, by batch and by CSV import joins in the same request with source default; existing users do not', async () => {
    const before = await putUser(t, hr, userBody());
    const group = await createGroup(t, admin, { type: 'manual', isDefault: true });
    expect(group.isDefault).to.equal(true);
    expect((await getGroup(t, admin, group.id)).isDefault).to.equal(true);

    const byPut = await putUser(t, hr, userBody());
    await patchUser(t, hr, before, { firstName: 'Changed' });
    const batchUser = userBody();
    const batch = await t.api.post('/api/v1/users/batch').set(hr).send({ users: [batchUser, { ...userBody(), externalId: before }] });
    expect(batch.status).to.equal(200);
    const csvUser = userBody();
    await t.api
      .post('/api/v1/users/import')
      .set(hr)
      .set('Content-Type', 'text/csv')
      .send(`externalId,email,firstName,lastName,type\n${csvUser.externalId},${String(csvUser.email)},Ana,Silva,learner\n`)
      .expect(200);

    const members = await stored(group.id);
    expect(members.map((m) => [m.externalId, m.source])).to.have.deep.members([
      [byPut, 'default'],
      [batchUser.externalId, 'default'],
      [csvUser.externalId, 'default'],
    ]);
    const history = await historyOf(t, admin, group.id);
    expect(history.map((h) => [h.externalId, h.action, h.source, h.reason])).to.have.deep.members(
      [byPut, batchUser.externalId, csvUser.externalId].map((u) => [u, 'added', 'default', 'new user joins the default group']),
    );
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(3);
  });

  it('setting the default on another group clears the first; later users join the new one; deleting it leaves no default', async () => {
    const first = await createGroup(t, admin, { type: 'manual', isDefault: true });
    const second = await createGroup(t, admin, { type: 'manual' });
    await setDefault(second.id);
    expect((await getGroup(t, admin, first.id)).isDefault).to.equal(false);
    expect((await getGroup(t, admin, second.id)).isDefault).to.equal(true);
    const listed = (await t.api.get('/api/v1/groups?limit=1000').set(admin).expect(200)).body.items as Array<{ isDefault: boolean }>;
    expect(listed.filter((g) => g.isDefault)).to.have.length(1);

    // Clearing it on a group that is not the default leaves the default where it is.
    await setDefault(first.id, false);
    expect((await getGroup(t, admin, second.id)).isDefault).to.equal(true);

    const later = await putUser(t, hr, userBody());
    expect(await storedIds(first.id)).to.deep.equal([]);
    expect(await storedIds(second.id)).to.deep.equal([later]);

    await t.api.delete(`/api/v1/groups/${second.id}`).set(admin).expect(204);
    const none = await putUser(t, hr, userBody());
    expect(await t.service.database.db.collection('memberships').find({ externalId: none }).toArray()).to.deep.equal([]);
  });

  it('PATCH isDefault false on the default group leaves no default', async () => {
    const group = await createGroup(t, admin, { type: 'manual', isDefault: true });
    await setDefault(group.id, false);
    expect((await getGroup(t, admin, group.id)).isDefault).to.equal(false);
    const none = await putUser(t, hr, userBody());
    expect(await t.service.database.db.collection('memberships').find({ externalId: none }).toArray()).to.deep.equal([]);
  });

  it('when the reaction to the creating write fails, its replay adds the user to the default group, once', async () => {
    const group = await createGroup(t, admin, { type: 'manual', isDefault: true });
    t.reactionFaults.failures = 1;
    const body = userBody();
    await putUser(t, hr, body);
    expect(t.reactionFaults.failures).to.equal(0);
    const entries = await t.service.database.db.collection('user_event_writes').find({}).toArray();
    await Promise.all(entries.map((e) => replayDue({ only: String(e._id) })));
    expect((await stored(group.id)).map((m) => [m.externalId, m.source])).to.deep.equal([[body.externalId, 'default']]);
    expect((await historyOf(t, admin, group.id)).map((h) => [h.externalId, h.source])).to.deep.equal([[body.externalId, 'default']]);
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(1);
  });

  it('two groups set as default at once end with exactly one default', async () => {
    const a = await createGroup(t, admin, { type: 'manual' });
    const b = await createGroup(t, admin, { type: 'manual' });
    await Promise.all([setDefault(a.id), setDefault(b.id)]);
    const flags = [(await getGroup(t, admin, a.id)).isDefault, (await getGroup(t, admin, b.id)).isDefault];
    expect(flags.filter(Boolean)).to.have.length(1);
  });

  it('a user excluded from the default group is not added when created again', async () => {
    const group = await createGroup(t, admin, { type: 'manual', isDefault: true });
    const body = userBody();
    await putUser(t, hr, body);
    await t.api.put(`/api/v1/groups/${group.id}/exclusions/${body.externalId}`).set(admin).expect(201);
    await t.api.delete(`/api/v1/users/${body.externalId}`).set(hr).expect(204);
    expect(await t.service.database.db.collection('exclusions').countDocuments({ group: group.id, externalId: body.externalId })).to.equal(1);
    await putUser(t, hr, body);
    expect(await storedIds(group.id)).to.deep.equal([]);
  });

  it('an automatic default group: a user its rule selects joins by the rule, another as default; a paused one takes no one', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Sales'), manualMembers: 'keep', isDefault: true });
    const sales = await putUser(t, hr, userBody({ fields: { department: 'Sales' } }));
    const eng = await putUser(t, hr, userBody({ fields: { department: 'Engineering' } }));
    const members = await stored(group.id);
    expect(members.map((m) => [m.externalId, m.source])).to.have.deep.members([
      [sales, 'rule'],
      [eng, 'default'],
    ]);

    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ paused: true }).expect(200);
    const whilePaused = await putUser(t, hr, userBody({ fields: { department: 'Engineering' } }));
    expect(await storedIds(group.id)).to.not.include(whilePaused);
  });
});
