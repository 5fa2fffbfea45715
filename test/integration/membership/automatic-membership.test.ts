import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import {
  createGroup,
  defineField,
  enrol,
  expectSorted,
  getGroup,
  historyOf,
  memberIds,
  memberList,
  patchUser,
  putCourse,
  putUser,
  rules,
  syncGroup,
  uniq,
  userBody,
  waitForJob,
  type Auth,
} from './membership-helpers.js';

describe('Automatic membership: changes in the directory move members before the API answers', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('automember');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await putCourse(t, hr, 'DRV-101', 'Driver Safety');
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: ['Sales', 'Engineering', 'People'] });
    await defineField(t, hr, 'region', { label: 'Region', type: 'text' });
  });
  after(async () => t.stop());

  it('when a learner completes Driver Safety, then they join at once; when the status moves back, then they leave', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.completed('DRV-101') });
    const ana = await putUser(t, hr, userBody());
    await enrol(t, hr, 'DRV-101', ana, { status: 'in_progress' });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);

    await enrol(t, hr, 'DRV-101', ana, { status: 'completed' });
    const members = await memberList(t, admin, group.id);
    expect(members.map((m) => [m.externalId, m.source])).to.deep.equal([[ana, 'rule']]);
    const afterJoin = await getGroup(t, admin, group.id);
    expect(afterJoin.memberCount).to.equal(1);
    expect(afterJoin.sync!.lastChangeAt).to.be.a('string');

    await enrol(t, hr, 'DRV-101', ana, { status: 'in_progress' });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(0);

    const history = await historyOf(t, admin, group.id);
    expect(history.map((h) => [h.externalId, h.action, h.source, h.ruleVersion])).to.deep.equal([
      [ana, 'removed', 'rule', 1],
      [ana, 'added', 'rule', 1],
    ]);
    expect(history[1]!.actor).to.match(/^key:test hr-feed/);
    // The reason says what changed, not only that the rule decided.
    expect(history[1]!.reason).to.equal('matches rule v1: enrolment in DRV-101 changed to completed');
    expect(history[0]!.reason).to.equal('no longer matches rule v1: enrolment in DRV-101 changed to in_progress');
  });

  it('when users exist before the group, then its first sync adds them; an email keyword matches case-insensitively', async () => {
    const keyword = uniq('contractor');
    const a = await putUser(t, hr, userBody({ email: `jo.${keyword}@example.com` }));
    const b = await putUser(t, hr, userBody({ email: `bo.${keyword.toUpperCase()}@example.com` }));
    const c = await putUser(t, hr, userBody());
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.emailKeyword(keyword) });
    expectSorted(await memberIds(t, admin, group.id), [a, b]);
    const view = await getGroup(t, admin, group.id);
    expect(view.memberCount).to.equal(2);
    expect(view.sync).to.include({ state: 'idle' });
    expect(view.sync!.lastSyncAt).to.be.a('string');

    await patchUser(t, hr, c, { email: `c.${keyword}.x@example.com` });
    expectSorted(await memberIds(t, admin, group.id), [a, b, c]);
    await patchUser(t, hr, a, { email: `jo.${uniq('x')}@example.com` });
    expectSorted(await memberIds(t, admin, group.id), [b, c]);
  });

  it('when an HR batch changes an additional field, then members follow the field in the same request', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Sales') });
    const [u1, u2, u3] = [userBody({ fields: { department: 'Sales' } }), userBody({ fields: { department: 'Sales' } }), userBody({ fields: { department: 'People' } })];
    const first = await t.api.post('/api/v1/users/batch').set(hr).send({ users: [u1, u2, u3] }).expect(200);
    expect(first.body).to.include({ created: 3, failed: 0 });
    expectSorted(await memberIds(t, admin, group.id), [u1.externalId, u2.externalId]);

    const second = await t.api
      .post('/api/v1/users/batch')
      .set(hr)
      .send({ users: [{ ...u1, fields: { department: 'Engineering' } }, u2, { ...u3, fields: { department: 'Sales' } }] })
      .expect(200);
    expect(second.body).to.include({ updated: 2, unchanged: 1 });
    expectSorted(await memberIds(t, admin, group.id), [u2.externalId, u3.externalId]);
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(2);

    // The same batch again changes nothing, and so writes no history.
    const before = (await historyOf(t, admin, group.id)).length;
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: [{ ...u1, fields: { department: 'Engineering' } }, u2, { ...u3, fields: { department: 'Sales' } }] }).expect(200);
    expect((await historyOf(t, admin, group.id)).length).to.equal(before);
  });

  it('when an HR batch changes a field a rule reads beside enrolments and the branch, then the batch decides with what it stored of the whole user', async () => {
    // The batch hands its reaction the users as it stored them: enrolments (which a batch does not carry) and
    // dropped attributes must be as stored, or the rule would see someone else.
    const rule = { conditions: { all: [rules.field('department', 'Sales').conditions.all[0]!, rules.completed('DRV-101').conditions.all[0]!, { fact: 'user', path: '$.branch', operator: 'notEqual', value: 'Lisbon' }] } };
    const group = await createGroup(t, admin, { type: 'automatic', rule });
    const done = userBody({ branch: 'Lisbon', fields: { department: 'People', region: 'North' } });
    const notDone = userBody({ fields: { department: 'People' } });
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: [done, notDone] }).expect(200);
    await enrol(t, hr, 'DRV-101', done.externalId, { status: 'completed' });
    await enrol(t, hr, 'DRV-101', notDone.externalId, { status: 'in_progress' });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([]);

    // Both move to Sales; `done` loses its branch and region (a batch replaces the whole user).
    const { branch: _dropped, ...withoutBranch } = done;
    const res = await t.api
      .post('/api/v1/users/batch')
      .set(hr)
      .send({ users: [{ ...withoutBranch, fields: { department: 'Sales' } }, { ...notDone, fields: { department: 'Sales' } }] })
      .expect(200);
    expect(res.body).to.include({ updated: 2 });
    expect(await memberIds(t, admin, group.id)).to.deep.equal([done.externalId]);
    // What the reaction decided with is what is stored.
    const stored = await t.service.database.db.collection('users').findOne({ _id: done.externalId as never });
    expect(stored).to.not.have.property('branch');
    expect(stored!.fields).to.deep.equal({ department: 'Sales' });
    expect(stored!.enrollments['DRV-101'].status).to.equal('completed');
  });

  it('when a sync runs twice, then the second changes nothing and writes no history', async () => {
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('region', 'north') });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await putUser(t, hr, userBody({ fields: { region: 'north' } })));
    const first = await syncGroup(t, admin, group.id);
    expect(first.result).to.include({ added: 0, removed: 0, memberCount: 3 });
    const history = await historyOf(t, admin, group.id);
    expect(history).to.have.length(3);
    const again = await syncGroup(t, admin, group.id);
    expect(again.result).to.include({ added: 0, removed: 0, memberCount: 3 });
    expect(again.progress.done).to.equal(again.progress.total);
    expect(await historyOf(t, admin, group.id)).to.deep.equal(history);

    const full = await t.api.post('/api/v1/sync').set(admin).send({}).expect(202);
    const fullJob = await waitForJob(t, admin, full.body.jobId as string);
    expect(fullJob.result).to.include({ added: 0, removed: 0 });
    expect(await historyOf(t, admin, group.id)).to.deep.equal(history);
  });
});
