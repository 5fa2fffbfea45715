import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import {
  createGroup,
  defineField,
  expectSorted,
  getGroup,
  historyOf,
  memberIds,
  memberList,
  patchUser,
  putUser,
  rules,
  syncGroup,
  userBody,
  waitForJob,
  type Auth,
} from './membership-helpers.js';

describe('Membership policies: manual members, exclusions, paused, inactive and deleted users, the safety valve', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('policies');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: ['Sales', 'Engineering', 'People'] });
    await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
  });
  after(async () => t.stop());

  /** A team of its own per test, so that groups of different tests never share members. */
  let teamSerial = 0;
  const newTeam = () => `team${++teamSerial}`;

  it('when hand-added members do not match, then a sync removes them (remove), keeps them (keep), or keeps only staff (keep-staff)', async () => {
    const team = newTeam();
    const matching = await putUser(t, hr, userBody({ fields: { team } }));
    const learner = await putUser(t, hr, userBody({ type: 'learner' }));
    const staff = await putUser(t, hr, userBody({ type: 'staff' }));
    const outcome: Record<string, string[]> = {};
    for (const policy of ['remove', 'keep', 'keep-staff'] as const) {
      const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team), manualMembers: policy });
      expect((await t.api.put(`/api/v1/groups/${group.id}/members/${learner}`).set(admin).expect(201)).body).to.include({ externalId: learner, source: 'manual' });
      await t.api.put(`/api/v1/groups/${group.id}/members/${staff}`).set(admin).expect(201);
      // Already a member: 200, as it is.
      await t.api.put(`/api/v1/groups/${group.id}/members/${staff}`).set(admin).expect(200);
      expect((await memberList(t, admin, group.id)).map((m) => `${m.externalId}:${m.source}`).sort()).to.deep.equal(
        [`${matching}:rule`, `${learner}:manual`, `${staff}:manual`].sort(),
      );
      expect((await getGroup(t, admin, group.id)).memberCount).to.equal(3);
      await syncGroup(t, admin, group.id);
      outcome[policy] = await memberIds(t, admin, group.id);
      expect((await getGroup(t, admin, group.id)).memberCount, policy).to.equal(outcome[policy]!.length);
      if (policy === 'remove') {
        const removed = (await historyOf(t, admin, group.id, { action: 'removed' })).map((h) => [h.externalId, h.source]);
        expect(removed.sort()).to.deep.equal([[learner, 'manual'], [staff, 'manual']].sort());
      }
    }
    expectSorted(outcome.remove!, [matching]);
    expectSorted(outcome.keep!, [matching, learner, staff]);
    expectSorted(outcome['keep-staff']!, [matching, staff]);
  });

  it('when a member is removed by hand, then a rule member is refused (exclude instead) and a manual one goes', async () => {
    const team = newTeam();
    const ruled = await putUser(t, hr, userBody({ fields: { team } }));
    const other = await putUser(t, hr, userBody());
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team), manualMembers: 'keep' });
    await t.api.put(`/api/v1/groups/${group.id}/members/${other}`).set(admin).expect(201);
    const refused = await t.api.delete(`/api/v1/groups/${group.id}/members/${ruled}`).set(admin).expect(409);
    expect(refused.body.detail).to.contain('exclude');
    await t.api.delete(`/api/v1/groups/${group.id}/members/${other}`).set(admin).expect(204);
    await t.api.delete(`/api/v1/groups/${group.id}/members/${other}`).set(admin).expect(404);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([ruled]);
    await t.api.put(`/api/v1/groups/${group.id}/members/nobody-here`).set(admin).expect(404);
  });

  it('when a matching user is excluded, then they leave at once and never come back until the exclusion is lifted', async () => {
    const team = newTeam();
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([u]);

    const put = await t.api.put(`/api/v1/groups/${group.id}/exclusions/${u}`).set(admin).expect(201);
    expect(put.body).to.include({ externalId: u });
    await t.api.put(`/api/v1/groups/${group.id}/exclusions/${u}`).set(admin).expect(200);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
    const removed = await historyOf(t, admin, group.id, { action: 'removed' });
    expect(removed.map((h) => [h.externalId, h.reason])).to.deep.equal([[u, 'excluded from the group']]);

    await syncGroup(t, admin, group.id);
    await patchUser(t, hr, u, { fields: { team, department: 'Sales' } });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
    await t.api.put(`/api/v1/groups/${group.id}/members/${u}`).set(admin).expect(409);
    const list = await t.api.get(`/api/v1/groups/${group.id}/exclusions`).set(admin).expect(200);
    expect(list.body.items.map((e: { externalId: string }) => e.externalId)).to.deep.equal([u]);

    await t.api.delete(`/api/v1/groups/${group.id}/exclusions/${u}`).set(admin).expect(204);
    await t.api.delete(`/api/v1/groups/${group.id}/exclusions/${u}`).set(admin).expect(404);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([u]);
  });

  it('when a group is paused, then neither changes nor syncs move it; resuming syncs it', async () => {
    const team = newTeam();
    const early = await putUser(t, hr, userBody({ fields: { team } }));
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team), paused: true });
    expect(group.jobId).to.equal(undefined);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
    await putUser(t, hr, userBody({ fields: { team } }));
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
    await t.api.post(`/api/v1/groups/${group.id}/sync`).set(admin).send({}).expect(409);
    const full = await t.api.post('/api/v1/sync').set(admin).send({}).expect(202);
    await waitForJob(t, admin, full.body.jobId as string);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);

    const resumed = await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ paused: false }).expect(200);
    expect(resumed.body.jobId).to.be.a('string');
    await waitForJob(t, admin, resumed.body.jobId as string);
    expect(await memberIds(t, admin, group.id)).to.have.length(2);

    // Paused again: a member who stops matching stays.
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ paused: true }).expect(200);
    await patchUser(t, hr, early, { fields: { team: 'elsewhere' } });
    expect(await memberIds(t, admin, group.id)).to.include(early);
  });

  it('when a member becomes inactive, then they leave, unless the group includes inactive users', async () => {
    const team = newTeam();
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    const strict = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const lenient = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team), includeInactive: true });
    await patchUser(t, hr, u, { status: 'inactive' });
    expect(await memberIds(t, admin, strict.id)).to.deep.equal([]);
    expect(await memberIds(t, admin, lenient.id)).to.deep.equal([u]);
    expect((await historyOf(t, admin, strict.id, { action: 'removed' }))[0]!.reason).to.equal('user is inactive');
    // An inactive user cannot be added by hand where inactive users do not count.
    await t.api.put(`/api/v1/groups/${strict.id}/members/${u}`).set(admin).expect(409);
    await patchUser(t, hr, u, { status: 'active' });
    expect(await memberIds(t, admin, strict.id)).to.deep.equal([u]);
  });

  it('when a user is deleted, then they leave every group, automatic and manual', async () => {
    const team = newTeam();
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    const auto = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const manual = await createGroup(t, admin, { type: 'manual' });
    await t.api.put(`/api/v1/groups/${manual.id}/members/${u}`).set(admin).expect(201);
    expect((await getGroup(t, admin, manual.id)).memberCount).to.equal(1);
    await t.api.delete(`/api/v1/users/${u}`).set(hr).expect(204);
    expect(await memberIds(t, admin, auto.id)).to.deep.equal([]);
    expect(await memberIds(t, admin, manual.id)).to.deep.equal([]);
    expect((await getGroup(t, admin, manual.id)).memberCount).to.equal(0);
    expect((await historyOf(t, admin, manual.id))[0]).to.include({ externalId: u, action: 'removed', source: 'manual', reason: 'user deleted' });
  });

  it('when a batch would remove more than half of a group at once, then the removals are held, the group is failed, and confirming releases them', async () => {
    const team = newTeam();
    const users = Array.from({ length: 14 }, () => userBody({ fields: { team } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(14);

    // A truncated feed: 10 of 14 lose the field in one batch.
    const moved = users.slice(0, 10).map((u) => ({ ...u, fields: {} }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: moved }).expect(200);
    let view = await getGroup(t, admin, group.id);
    expect(view.memberCount).to.equal(14);
    expect(view.sync).to.include({ state: 'failed' });
    expect(view.sync!.lastError).to.match(/Safety valve: .*10 of 14 members/);

    // A sync without confirmation holds them again.
    await syncGroup(t, admin, group.id);
    view = await getGroup(t, admin, group.id);
    expect(view.sync).to.include({ state: 'failed' });
    expect(view.memberCount).to.equal(14);

    const confirmed = await syncGroup(t, admin, group.id, { confirmRemovals: true });
    expect(confirmed.result).to.include({ removed: 10, memberCount: 4 });
    view = await getGroup(t, admin, group.id);
    expect(view.sync).to.include({ state: 'idle' });
    expect(view.sync).to.not.have.property('lastError');
    expect(view.memberCount).to.equal(4);
    expect(await memberIds(t, admin, group.id)).to.have.length(4);
  });

  it('when a new rule would empty a group, then its sync applies additions, holds removals, and says why', async () => {
    const team = newTeam();
    const other = newTeam();
    const users = Array.from({ length: 12 }, () => userBody({ fields: { team } }));
    const newcomer = userBody({ fields: { team: other } });
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: [...users, newcomer] }).expect(200);
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const put = await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).send({ rule: rules.field('team', other) }).expect(200);
    const job = await waitForJob(t, admin, put.body.jobId as string);
    expect(job.result).to.include({ added: 1, removed: 0, heldRemovals: 12 });
    const view = await getGroup(t, admin, group.id);
    expect(view.sync).to.include({ state: 'failed' });
    expect(view.sync!.lastError).to.contain('confirmRemovals');
    expect(view.memberCount).to.equal(13);
    await syncGroup(t, admin, group.id, { confirmRemovals: true });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([newcomer.externalId]);
  });

  it('when small groups lose most members, then the valve does not apply (at or below the minimum size)', async () => {
    const team = newTeam();
    const users = Array.from({ length: 4 }, () => userBody({ fields: { team } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: users.map((u) => ({ ...u, fields: {} })) }).expect(200);
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
    expect((await getGroup(t, admin, group.id)).sync).to.include({ state: 'idle' });
  });
});
