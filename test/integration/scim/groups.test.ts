import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { bodyOf, expectScimError, GROUP_URN, oktaUser, patchOp, scim, unique } from './scim-helpers.js';

describe('SCIM: Groups', () => {
  let t: TestService;
  let s: ReturnType<typeof scim>;
  before(async () => {
    t = await startTestService('scimgroups');
    s = scim(t, await t.auth('hr-feed'));
  });
  after(async () => t.stop());
  const db = () => t.service.database.db;
  const memberIds = async (groupId: string) => (await db().collection('memberships').find({ group: groupId }).toArray()).map((m) => m.externalId as string).sort();
  const newUser = async () => bodyOf(await s.post('/Users', oktaUser()).expect(201)).id as string;

  it('when a manual group is created with members, replaced, filtered and deleted, then the groups and memberships follow', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const name = `Team ${unique()}`;
    const created = await s.post('/Groups', { schemas: [GROUP_URN], displayName: name, members: [{ value: a }, { value: b }] }).expect(201);
    const g = bodyOf(created);
    expect(created.headers.location).to.match(new RegExp(`/scim/v2/Groups/${g.id as string}$`));
    expect(g.members.map((m: { value: string }) => m.value).sort()).to.deep.equal([a, b].sort());
    expect(await db().collection('groups').findOne({ _id: g.id })).to.include({ name, type: 'manual' });
    expect(await memberIds(g.id)).to.deep.equal([a, b].sort());

    expectScimError(await s.post('/Groups', { schemas: [GROUP_URN], displayName: name }), 409, 'uniqueness');

    const replaced = bodyOf(await s.put(`/Groups/${g.id as string}`, { schemas: [GROUP_URN], displayName: `${name} 2`, members: [{ value: b }, { value: c }] }).expect(200));
    expect(replaced.displayName).to.equal(`${name} 2`);
    expect(await memberIds(g.id)).to.deep.equal([b, c].sort());

    const byMember = bodyOf(await s.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${name} 2" and members[value eq "${c}"]`)}`).expect(200));
    expect(byMember.Resources.map((r: { id: string }) => r.id)).to.deep.equal([g.id]);
    const onlyName = bodyOf(await s.get(`/Groups/${g.id as string}?attributes=displayName`).expect(200));
    expect(Object.keys(onlyName).sort()).to.deep.equal(['displayName', 'id', 'schemas']);

    await s.delete(`/Groups/${g.id as string}`).expect(204);
    expectScimError(await s.get(`/Groups/${g.id as string}`), 404);
    expect(await db().collection('groups').countDocuments({ _id: g.id })).to.equal(0);
    expect(await memberIds(g.id)).to.deep.equal([]);
  });

  it('when a group is created naming a user that does not exist, then 400 names them and nothing is created', async () => {
    const a = await newUser();
    const name = `Ghosts ${unique()}`;
    const res = await s.post('/Groups', { schemas: [GROUP_URN], displayName: name, members: [{ value: a }, { value: 'ghost-1' }] });
    expectScimError(res, 400, 'invalidValue');
    expect(bodyOf(res).detail).to.include('ghost-1');
    expect(await db().collection('groups').countDocuments({ name })).to.equal(0);
  });

  it('when PATCH replaces members, or removes all, then the members are exactly those; a stale If-Match is a 412', async () => {
    const [a, b, c] = [await newUser(), await newUser(), await newUser()];
    const g = bodyOf(await s.post('/Groups', { schemas: [GROUP_URN], displayName: `P ${unique()}`, members: [{ value: a }] }).expect(201));
    await s.patch(`/Groups/${g.id as string}`, patchOp({ op: 'replace', path: 'members', value: [{ value: b }, { value: c }] })).expect(204);
    expect(await memberIds(g.id)).to.deep.equal([b, c].sort());
    expectScimError(await s.patch(`/Groups/${g.id as string}`, patchOp({ op: 'remove', path: 'members' })).set('If-Match', g.meta.version as string), 412);
    expect(await memberIds(g.id)).to.deep.equal([b, c].sort());
    await s.patch(`/Groups/${g.id as string}`, patchOp({ op: 'remove', path: 'members' })).expect(204);
    expect(await memberIds(g.id)).to.deep.equal([]);
    expectScimError(await s.patch(`/Groups/${g.id as string}`, patchOp({ op: 'add', path: 'owner', value: 'x' })), 400, 'invalidPath');
  });

  it('when a class group is written, then 400 mutability names its course; it can still be read', async () => {
    const admin = await t.auth('admin');
    const hr = await t.auth('hr-feed');
    const course = `C${unique()}`;
    await t.api.put(`/api/v1/courses/${course}`).set(hr).send({ title: 'History' }).expect(201);
    const student = await newUser();
    await t.api.put(`/api/v1/courses/${course}/enrollments/${student}`).set(hr).send({ status: 'in_progress', role: 'student', class: 'Tutorial_1' }).expect(201);
    await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true }).expect(201);
    // Enabling starts the course's class sync; its groups appear when it has run.
    let classGroup = null;
    for (let i = 0; i < 100; i++) {
      classGroup = await db().collection('groups').findOne({ scope: course, name: '[Tutorial_1]' });
      if (classGroup && (await memberIds(classGroup._id as unknown as string)).length === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(classGroup, 'the class group').to.not.equal(null);
    const id = classGroup!._id as unknown as string;
    const res = await s.patch(`/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: await newUser() }] }));
    expectScimError(res, 400, 'mutability');
    expect(bodyOf(res).detail).to.include(course);
    expectScimError(await s.delete(`/Groups/${id}`), 400, 'mutability');
    expect(bodyOf(await s.get(`/Groups/${id}`).expect(200)).members.map((m: { value: string }) => m.value)).to.deep.equal([student]);
  });

  it('when Bulk replaces, patches and deletes, or names an unknown bulkId, then each operation answers on its own', async () => {
    const u = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    const gone = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    const res = await s.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'PUT', path: `/Users/${u.id as string}`, data: { ...u, name: { givenName: 'Bulk', familyName: 'Put' } } },
        { method: 'PATCH', path: `/Users/${u.id as string}`, data: patchOp({ op: 'replace', path: 'userType', value: 'staff' }) },
        { method: 'DELETE', path: `/Users/${gone.id as string}` },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_URN], displayName: `B ${unique()}`, members: [{ value: 'bulkId:nobody' }] } },
        { method: 'DELETE', path: '/Users/not-there' },
      ],
    });
    expect(res.status, res.text).to.equal(200);
    expect(bodyOf(res).Operations.map((o: { status: string }) => o.status)).to.deep.equal(['200', '200', '204', '400', '404']);
    expect(await db().collection('users').findOne({ _id: u.id })).to.include({ firstName: 'Bulk', lastName: 'Put', type: 'staff' });
    expect(await db().collection('users').countDocuments({ _id: gone.id })).to.equal(0);
  });

  it('when discovery endpoints are read one by one, then each answers; an unknown one is a SCIM 404', async () => {
    expect(bodyOf(await s.get(`/Schemas/${GROUP_URN}`).expect(200)).name).to.equal('Group');
    expect(bodyOf(await s.get('/ResourceTypes/user').expect(200)).endpoint).to.equal('/Users');
    expectScimError(await s.get('/Schemas/urn:nothing'), 404);
    expectScimError(await s.get('/ResourceTypes/Device'), 404);
  });
});
