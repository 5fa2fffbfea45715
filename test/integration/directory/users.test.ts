import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { aUser, defineFields, pathsOf, recordChanges } from './directory-helpers.js';

describe('Directory: users', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('users');
    hr = await t.auth('hr-feed');
    await defineFields(t);
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');

  it('when a new user is PUT, then 201 with the user as API.md shows it, stored under _id = externalId', async () => {
    const { externalId, ...body } = aUser({ branch: 'north', fields: { department: 'Sales', hireDate: '2024-02-29', employeeNumber: 7, isManager: false } });
    const res = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    expect(res.body).to.include({ externalId, email: body.email, firstName: 'Ana', lastName: 'Silva', type: 'learner', status: 'active', branch: 'north' });
    expect(res.body.fields).to.deep.equal({ department: 'Sales', hireDate: '2024-02-29', employeeNumber: 7, isManager: false });
    expect(res.body).to.not.have.any.keys('_id', 'emailLower', 'enrollments');
    expect(res.headers.location).to.equal(`/api/v1/users/${externalId as string}`);

    const stored = await users().findOne({ _id: externalId as never });
    expect(stored).to.include({ email: body.email, emailLower: (body.email as string).toLowerCase(), branch: 'north' });
    expect(stored!.fields).to.deep.equal(res.body.fields);
  });

  it('when a user is PUT with status left out, then it is active', async () => {
    const { externalId, status: _status, ...body } = aUser();
    const res = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    expect(res.body.status).to.equal('active');
  });

  it('when an existing user is PUT again, then 200 replaces the whole user: a branch or field left out is removed', async () => {
    const { externalId, ...body } = aUser({ branch: 'south', fields: { jobTitle: 'Driver', department: 'People' } });
    await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    const { branch: _b, ...withoutBranch } = body;
    const res = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send({ ...withoutBranch, lastName: 'Costa', fields: { jobTitle: 'Driver' } }).expect(200);
    expect(res.body).to.not.have.property('branch');
    expect(res.body.lastName).to.equal('Costa');
    expect(res.body.fields).to.deep.equal({ jobTitle: 'Driver' });
    const stored = await users().findOne({ _id: externalId as never });
    expect(stored).to.not.have.property('branch');
    expect(stored!.fields).to.deep.equal({ jobTitle: 'Driver' });
  });

  it('when a PUT changes nothing, then 200 and nothing is written (updatedAt kept) or announced', async () => {
    const { externalId, ...body } = aUser({ fields: { employeeNumber: 12 } });
    await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    const before = await users().findOne({ _id: externalId as never });
    const changes = recordChanges(t);
    try {
      await new Promise((r) => setTimeout(r, 5));
      const res = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(200);
      expect(res.body.updatedAt).to.equal(before!.updatedAt.toISOString());
      expect((await changes.all())).to.deep.equal([]);
    } finally {
      changes.stop();
    }
    expect(await users().findOne({ _id: externalId as never })).to.deep.equal(before);
  });

  it('when a GET representation is sent back as a PUT, then it is accepted and changes nothing', async () => {
    const { externalId, ...body } = aUser({ fields: { department: 'Sales' } });
    const created = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    const res = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(created.body).expect(200);
    expect(res.body).to.deep.equal(created.body);
  });

  it('when the body names another externalId than the path, then 400 names externalId', async () => {
    const { externalId, ...body } = aUser();
    const res = await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send({ ...body, externalId: 'someone-else' }).expect(400);
    expect(pathsOf(res.body)).to.deep.equal(['externalId']);
    expect(await users().countDocuments({ _id: externalId as never })).to.equal(0);
  });

  it('when a PATCH names some attributes, then only those change; null clears a field or the branch', async () => {
    const { externalId, ...body } = aUser({ branch: 'east', fields: { department: 'Sales', jobTitle: 'Rep', employeeNumber: 5 } });
    await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    const res = await t.api
      .patch(`/api/v1/users/${externalId as string}`)
      .set(hr)
      .send({ status: 'inactive', branch: null, fields: { jobTitle: null, employeeNumber: 6, isManager: true } })
      .expect(200);
    expect(res.body).to.include({ status: 'inactive', firstName: 'Ana', email: body.email });
    expect(res.body).to.not.have.property('branch');
    expect(res.body.fields).to.deep.equal({ department: 'Sales', employeeNumber: 6, isManager: true });
    const stored = await users().findOne({ _id: externalId as never });
    expect(stored!.fields).to.deep.equal({ department: 'Sales', employeeNumber: 6, isManager: true });
    expect(stored).to.not.have.property('branch');
  });

  it('when a PATCH targets a missing user, then 404', async () => {
    await t.api.patch('/api/v1/users/nobody-here').set(hr).send({ status: 'inactive' }).expect(404);
    expect(await users().countDocuments({ _id: 'nobody-here' as never })).to.equal(0);
  });

  it('when another user has the email in another case, then 409 names that externalId and nothing changes', async () => {
    const first = aUser({ email: 'Maria.Case@Example.com' });
    await t.api.put(`/api/v1/users/${first.externalId as string}`).set(hr).send({ ...first, externalId: undefined }).expect(201);
    const second = aUser({ email: 'maria.case@example.COM' });
    const res = await t.api.put(`/api/v1/users/${second.externalId as string}`).set(hr).send({ ...second, externalId: undefined }).expect(409);
    expect(res.body.detail).to.contain(first.externalId as string);
    expect(res.body.externalId).to.equal(first.externalId);
    expect(pathsOf(res.body)).to.deep.equal(['email']);
    expect(await users().countDocuments({ _id: second.externalId as never })).to.equal(0);

    // An existing user taking the address by PATCH is refused the same way.
    const third = aUser();
    await t.api.put(`/api/v1/users/${third.externalId as string}`).set(hr).send({ ...third, externalId: undefined }).expect(201);
    const patched = await t.api.patch(`/api/v1/users/${third.externalId as string}`).set(hr).send({ email: 'MARIA.case@example.com' }).expect(409);
    expect(patched.body.externalId).to.equal(first.externalId);
    expect((await users().findOne({ _id: third.externalId as never }))!.email).to.equal(third.email);

    // The holder may change the case of its own address.
    await t.api.patch(`/api/v1/users/${first.externalId as string}`).set(hr).send({ email: 'maria.case@example.com' }).expect(200);
  });

  it('when a user is read, then GET shows it and an unknown one is 404', async () => {
    const { externalId, ...body } = aUser();
    await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    const res = await t.api.get(`/api/v1/users/${externalId as string}`).set(await t.auth('viewer')).expect(200);
    expect(res.body.externalId).to.equal(externalId);
    expect(res.body).to.not.have.any.keys('_id', 'emailLower');
    const missing = await t.api.get('/api/v1/users/does-not-exist').set(hr).expect(404);
    expect(missing.body.detail).to.contain('does-not-exist');
  });

  it('when users are listed with filters, then email matches case-insensitively, branch and field.<key> exactly', async () => {
    const tag = `L${Date.now().toString(36)}`;
    const a = aUser({ externalId: `${tag}-a`, email: `${tag}.a@Example.com`, branch: `${tag}-x`, fields: { employeeNumber: 1001, isManager: true, hireDate: '2020-01-15' } });
    const b = aUser({ externalId: `${tag}-b`, branch: `${tag}-x`, fields: { employeeNumber: 1002, isManager: false, department: 'People' } });
    const c = aUser({ externalId: `${tag}-c`, branch: `${tag}-y`, fields: { employeeNumber: 1001, department: 'People' } });
    for (const u of [a, b, c]) await t.api.put(`/api/v1/users/${u.externalId as string}`).set(hr).send(u).expect(201);
    const list = async (query: Record<string, string | number>) => {
      const res = await t.api.get('/api/v1/users').query(query).set(hr).expect(200);
      return res.body.items.map((u: { externalId: string }) => u.externalId);
    };
    expect(await list({ email: `${tag}.A@EXAMPLE.COM` })).to.deep.equal([a.externalId]);
    expect(await list({ branch: `${tag}-x` })).to.deep.equal([a.externalId, b.externalId]);
    expect(await list({ branch: `${tag}-x`, 'field.employeeNumber': 1001 })).to.deep.equal([a.externalId]);
    expect(await list({ 'field.employeeNumber': '1001' })).to.include.members([a.externalId, c.externalId]);
    expect(await list({ branch: `${tag}-x`, 'field.isManager': 'false' })).to.deep.equal([b.externalId]);
    expect(await list({ 'field.department': 'People', branch: `${tag}-y` })).to.deep.equal([c.externalId]);
    expect(await list({ 'field.hireDate': '2020-01-15', branch: `${tag}-x` })).to.deep.equal([a.externalId]);

    const unknown = await t.api.get('/api/v1/users').query({ 'field.nope': 'x' }).set(hr).expect(400);
    expect(pathsOf(unknown.body)).to.deep.equal(['field.nope']);
    const badNumber = await t.api.get('/api/v1/users').query({ 'field.employeeNumber': 'many' }).set(hr).expect(400);
    expect(pathsOf(badNumber.body)).to.deep.equal(['field.employeeNumber']);
    const badParam = await t.api.get('/api/v1/users').query({ colour: 'red' }).set(hr).expect(400);
    expect(pathsOf(badParam.body)).to.deep.equal(['colour']);
  });

  it('when listing with a small limit, then pages follow the cursor in externalId order to the end', async () => {
    const total = await users().countDocuments();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ externalId: string }>; nextCursor: string | null } } = await t.api
        .get('/api/v1/users')
        .query(cursor ? { limit: 3, cursor } : { limit: 3 })
        .set(hr)
        .expect(200);
      expect(res.body.items.length).to.be.at.most(3);
      seen.push(...res.body.items.map((u) => u.externalId));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).to.have.length(total);
    expect(seen).to.deep.equal([...seen].sort());
  });

  it('when a user is deleted, then 204, it is gone, and a second delete is 404', async () => {
    const { externalId, ...body } = aUser();
    await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    await t.api.delete(`/api/v1/users/${externalId as string}`).set(hr).expect(204);
    expect(await users().countDocuments({ _id: externalId as never })).to.equal(0);
    await t.api.get(`/api/v1/users/${externalId as string}`).set(hr).expect(404);
    await t.api.delete(`/api/v1/users/${externalId as string}`).set(hr).expect(404);
  });

  it('when many PATCHes of one user overlap, then every one of them is kept', async () => {
    const { externalId, ...body } = aUser();
    await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
    await Promise.all([
      t.api.patch(`/api/v1/users/${externalId as string}`).set(hr).send({ fields: { jobTitle: 'Lead' } }).expect(200),
      t.api.patch(`/api/v1/users/${externalId as string}`).set(hr).send({ fields: { employeeNumber: 99 } }).expect(200),
      t.api.patch(`/api/v1/users/${externalId as string}`).set(hr).send({ fields: { isManager: true } }).expect(200),
      t.api.patch(`/api/v1/users/${externalId as string}`).set(hr).send({ branch: 'west' }).expect(200),
      t.api.patch(`/api/v1/users/${externalId as string}`).set(hr).send({ lastName: 'Moreau' }).expect(200),
    ]);
    const stored = await users().findOne({ _id: externalId as never });
    expect(stored!.fields).to.deep.equal({ jobTitle: 'Lead', employeeNumber: 99, isManager: true });
    expect(stored).to.include({ branch: 'west', lastName: 'Moreau' });
  });

  it('when a role without users:write writes, then 403; support and viewer may read', async () => {
    const { externalId, ...body } = aUser();
    for (const role of ['support', 'viewer', 'integration'] as const) {
      await t.api.put(`/api/v1/users/${externalId as string}`).set(await t.auth(role)).send(body).expect(403);
    }
    await t.api.get('/api/v1/users').set(await t.auth('support')).expect(200);
    await t.api.get('/api/v1/users').set(await t.auth('integration')).expect(403);
    expect(await users().countDocuments({ _id: externalId as never })).to.equal(0);
  });
});
