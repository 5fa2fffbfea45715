// Reads that name people (issue 19): users found by a piece of their name or email, members searched and sorted
// by name, names beside externalIds in members, exclusions, history, preview samples and explain, a rule's preview
// before its group exists, and jobs with the name of their group. Through HTTP against the real database.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

describe('Reads that name people: search, names in lists, rule preview, job group names', () => {
  let t: TestService;
  let admin: { Authorization: string };
  let groupId: string;
  const people: Array<[string, string, string, string]> = [
    ['p-1', 'Zara', 'Adams', 'Sales'],
    ['p-2', 'Yusuf', 'Brown', 'Sales'],
    ['p-3', 'Xena', 'Adams', 'Ops'],
    ['p-4', 'Walt', 'Clark', 'Sales'],
  ];
  before(async () => {
    t = await startTestService('people-reads');
    admin = await t.auth('admin');
    await t.api.put('/api/v1/fields/department').set(admin).send({ label: 'Department', type: 'select', options: ['Sales', 'Ops'] }).expect(201);
    for (const [id, first, last, department] of people) {
      await t.api.put(`/api/v1/users/${id}`).set(admin).send({ email: `${first.toLowerCase()}@corp.example`, firstName: first, lastName: last, type: 'staff', status: 'active', fields: { department } }).expect(201);
    }
    const rule = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }] } };
    groupId = (await t.api.post('/api/v1/groups').set(admin).send({ name: 'Sales team', type: 'automatic', rule }).expect(201)).body.id as string;
    for (let i = 0; i < 100; i++) {
      const g = await t.api.get(`/api/v1/groups/${groupId}`).set(admin);
      if (g.body.memberCount === 3 && g.body.sync?.state === 'idle') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => t.stop());

  it('when users are searched with q, then a piece of a name, an email or "first last" finds them, by last name; q with another filter is a 400', async () => {
    const names = async (q: string) => ((await t.api.get('/api/v1/users').query({ q }).set(admin).expect(200)).body.items as Array<{ externalId: string }>).map((u) => u.externalId);
    expect(await names('adams')).to.deep.equal(['p-3', 'p-1']);
    expect(await names('yusuf@')).to.deep.equal(['p-2']);
    expect(await names('Zara Adams')).to.deep.equal(['p-1']);
    expect(await names('nobody-like-this')).to.deep.equal([]);
    const bad = await t.api.get('/api/v1/users').query({ q: 'x', branch: 'Lisbon' }).set(admin);
    expect(bad.status).to.equal(400);
  });

  it('when members are listed with include=user, q or sort=name, then each names the user; q searches within the group; sort=name pages in name order', async () => {
    const plain = await t.api.get(`/api/v1/groups/${groupId}/members`).set(admin).expect(200);
    expect(plain.body.items[0]).to.not.have.property('user');
    const named = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ include: 'user' }).set(admin).expect(200);
    expect(named.body.items[0].user).to.deep.equal({ externalId: 'p-1', email: 'zara@corp.example', firstName: 'Zara', lastName: 'Adams' });
    const found = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ q: 'adams' }).set(admin).expect(200);
    expect(found.body.items.map((m: { externalId: string }) => m.externalId), 'Xena Adams is not in the group').to.deep.equal(['p-1']);
    const first = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ sort: 'name', limit: 2 }).set(admin).expect(200);
    expect(first.body.items.map((m: { user: { lastName: string } }) => m.user.lastName)).to.deep.equal(['Adams', 'Brown']);
    const second = await t.api.get(`/api/v1/groups/${groupId}/members`).query({ sort: 'name', limit: 2, cursor: first.body.nextCursor as string }).set(admin).expect(200);
    expect(second.body.items.map((m: { externalId: string }) => m.externalId)).to.deep.equal(['p-4']);
    expect(second.body.nextCursor).to.equal(null);
  });

  it('when exclusions and history are read with include=user, then each entry names the user; history filters by user', async () => {
    await t.api.put(`/api/v1/groups/${groupId}/exclusions/p-4`).set(admin).expect(201);
    const exclusions = await t.api.get(`/api/v1/groups/${groupId}/exclusions`).query({ include: 'user' }).set(admin).expect(200);
    expect(exclusions.body.items.map((e: { user: { firstName: string } }) => e.user.firstName)).to.deep.equal(['Walt']);
    const history = await t.api.get(`/api/v1/groups/${groupId}/history`).query({ include: 'user', externalId: 'p-4' }).set(admin).expect(200);
    expect(history.body.items.map((h: { action: string; user: { lastName: string } }) => `${h.action} ${h.user.lastName}`)).to.deep.equal(['removed Clark', 'added Clark']);
    await t.api.delete(`/api/v1/groups/${groupId}/exclusions/p-4`).set(admin).expect(204);
  });

  it('when a group preview, a rule preview or an explanation is read, then the users are named; a rule preview creates nothing and names a bad rule’s errors', async () => {
    const ops = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Ops' }] } };
    const preview = await t.api.post(`/api/v1/groups/${groupId}/preview`).set(admin).send({ rule: ops }).expect(200);
    expect(preview.body.sampleAddUsers.map((u: { firstName: string }) => u.firstName)).to.deep.equal(['Xena']);
    expect(preview.body.sampleRemoveUsers.map((u: { externalId: string }) => u.externalId)).to.deep.equal(preview.body.sampleRemove);
    const groupsBefore = await t.service.database.db.collection('groups').countDocuments();
    const fresh = await t.api.post('/api/v1/rules/preview').set(admin).send({ rule: ops }).expect(200);
    expect(fresh.body).to.include({ toAdd: 1, toRemove: 0 });
    expect(fresh.body.sampleAddUsers).to.deep.equal([{ externalId: 'p-3', email: 'xena@corp.example', firstName: 'Xena', lastName: 'Adams' }]);
    expect(await t.service.database.db.collection('groups').countDocuments()).to.equal(groupsBefore);
    const bad = await t.api.post('/api/v1/rules/preview').set(admin).send({ rule: { conditions: { all: [{ fact: 'field', params: { key: 'nope' }, operator: 'equal', value: 1 }] } } });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors[0].path).to.match(/^rule\.conditions/);
    expect((await t.api.post('/api/v1/rules/preview').set(await t.auth('integration')).send({ rule: ops })).status).to.equal(403);
    const why = await t.api.get(`/api/v1/groups/${groupId}/explain/p-2`).set(admin).expect(200);
    expect(why.body.user).to.include({ firstName: 'Yusuf', lastName: 'Brown' });
  });

  it('when jobs are listed, then a group sync names its group', async () => {
    const started = await t.api.post(`/api/v1/groups/${groupId}/sync`).set(admin).send({}).expect(202);
    const job = await t.api.get(`/api/v1/jobs/${started.body.jobId as string}`).set(admin).expect(200);
    expect(job.body).to.include({ groupId, groupName: 'Sales team' });
    const list = await t.api.get('/api/v1/jobs').set(admin).expect(200);
    expect(list.body.items.find((j: { id: string }) => j.id === started.body.jobId)).to.include({ groupName: 'Sales team' });
  });
});
