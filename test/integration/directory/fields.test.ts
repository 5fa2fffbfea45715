import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { setFieldUsageLookup } from '../../../src/directory/field-usage.js';
import { aUser, pathsOf, recordChanges, snapshot } from './directory-helpers.js';

describe('Directory: field definitions', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('fields');
    hr = await t.auth('hr-feed');
  });
  after(async () => t.stop());
  const defs = () => t.service.database.db.collection('fielddefs');
  const users = () => t.service.database.db.collection('users');
  const putField = (key: string, body: unknown) => t.api.put(`/api/v1/fields/${key}`).set(hr).send(body as object);

  it('when a field is defined, then 201 with it, a second identical PUT is 200 and writes nothing', async () => {
    const res = await putField('department', { label: 'Department', type: 'select', options: ['Sales', 'People'] }).expect(201);
    expect(res.body).to.include({ key: 'department', label: 'Department', type: 'select' });
    expect(res.body.options).to.deep.equal(['Sales', 'People']);
    const stored = await defs().findOne({ _id: 'department' as never });
    expect(stored).to.include({ label: 'Department', type: 'select' });
    const again = await putField('department', { label: 'Department', type: 'select', options: ['Sales', 'People'] }).expect(200);
    expect(again.body.updatedAt).to.equal(res.body.updatedAt);
    expect(await defs().findOne({ _id: 'department' as never })).to.deep.equal(stored);
  });

  it('when fields are read, then GET one and the list show them; an unknown key is 404', async () => {
    await putField('jobTitle', { label: 'Job title', type: 'text' }).expect(201);
    const one = await t.api.get('/api/v1/fields/jobTitle').set(await t.auth('viewer')).expect(200);
    expect(one.body).to.include({ key: 'jobTitle', type: 'text' });
    expect(one.body).to.not.have.property('options');
    const list = await t.api.get('/api/v1/fields').set(await t.auth('support')).expect(200);
    expect(list.body.items.map((f: { key: string }) => f.key)).to.include.members(['department', 'jobTitle']);
    expect(list.body.nextCursor).to.equal(null);
    await t.api.get('/api/v1/fields/nothing').set(hr).expect(404);
  });

  it('when a definition is bad, then 400 names what: the key rule, options for select only, the type', async () => {
    const before = await snapshot(t.service.database.db);
    expect(pathsOf((await putField('1abc', { label: 'x', type: 'text' }).expect(400)).body)).to.deep.equal(['key']);
    expect(pathsOf((await putField('a'.repeat(65), { label: 'x', type: 'text' }).expect(400)).body)).to.deep.equal(['key']);
    expect(pathsOf((await putField('colour', { label: 'x', type: 'select' }).expect(400)).body)).to.deep.equal(['options']);
    expect(pathsOf((await putField('colour', { label: 'x', type: 'select', options: [] }).expect(400)).body)).to.deep.equal(['options']);
    expect(pathsOf((await putField('colour', { label: 'x', type: 'select', options: ['a', 'a'] }).expect(400)).body)).to.deep.equal(['options[1]']);
    expect(pathsOf((await putField('colour', { label: 'x', type: 'text', options: ['a'] }).expect(400)).body)).to.deep.equal(['options']);
    expect(pathsOf((await putField('colour', { label: '', type: 'colour' }).expect(400)).body)).to.have.members(['label', 'type']);
    expect(await snapshot(t.service.database.db)).to.deep.equal(before);
  });

  it('when users hold values a new type cannot take, then 409 says so and nothing changes; a change the values fit is accepted', async () => {
    await putField('level', { label: 'Level', type: 'select', options: ['junior', 'senior'] }).expect(201);
    const u = aUser({ fields: { level: 'senior' } });
    await t.api.put(`/api/v1/users/${u.externalId as string}`).set(hr).send(u).expect(201);

    const toNumber = await putField('level', { label: 'Level', type: 'number' }).expect(409);
    expect(toNumber.body.detail).to.contain('1 user holds a value').and.to.contain(u.externalId as string);
    expect(pathsOf(toNumber.body)).to.deep.equal(['type']);
    const dropOption = await putField('level', { label: 'Level', type: 'select', options: ['junior'] }).expect(409);
    expect(pathsOf(dropOption.body)).to.deep.equal(['options']);
    expect(await defs().findOne({ _id: 'level' as never })).to.include({ type: 'select' });

    const toText = await putField('level', { label: 'Seniority', type: 'text' }).expect(200);
    expect(toText.body).to.include({ type: 'text', label: 'Seniority' });
    expect(toText.body).to.not.have.property('options');
    expect(await defs().findOne({ _id: 'level' as never })).to.not.have.property('options');
    const back = await putField('level', { label: 'Seniority', type: 'select', options: ['senior', 'lead'] }).expect(200);
    expect(back.body.options).to.deep.equal(['senior', 'lead']);
  });

  it('when a field used by a group rule is deleted, then 409 names the groups and it stays', async () => {
    await putField('costCenter', { label: 'Cost center', type: 'text' }).expect(201);
    const previous = setFieldUsageLookup(async (key) => (key === 'costCenter' ? ['Finance people', 'Budget holders'] : []));
    try {
      const res = await t.api.delete('/api/v1/fields/costCenter').set(hr).expect(409);
      expect(res.body.detail).to.contain('"Finance people"').and.to.contain('"Budget holders"');
      expect(res.body.groups).to.deep.equal(['Finance people', 'Budget holders']);
    } finally {
      setFieldUsageLookup(previous);
    }
    expect(await defs().countDocuments({ _id: 'costCenter' as never })).to.equal(1);
  });

  it('when an unused field is deleted, then 204, its values leave every user as one announced change, and it is 404 after', async () => {
    await putField('shoeSize', { label: 'Shoe size', type: 'number' }).expect(201);
    const a = aUser({ fields: { shoeSize: 42, department: 'Sales' } });
    const b = aUser({ fields: { shoeSize: 38 } });
    const c = aUser({ fields: { department: 'People' } });
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: [a, b, c] }).expect(200);
    const changes = recordChanges(t);
    try {
      await t.api.delete('/api/v1/fields/shoeSize').set(hr).expect(204);
      expect((await changes.writes())).to.have.length(1);
      expect((await changes.all()).map((ch) => [ch.externalId, ch.kind, ch.changed]).sort()).to.deep.equal(
        [
          [a.externalId, 'user.changed', ['fields.shoeSize']],
          [b.externalId, 'user.changed', ['fields.shoeSize']],
        ].sort(),
      );
    } finally {
      changes.stop();
    }
    expect((await users().findOne({ _id: a.externalId as never }))!.fields).to.deep.equal({ department: 'Sales' });
    expect((await users().findOne({ _id: b.externalId as never }))!.fields).to.deep.equal({});
    await t.api.get('/api/v1/fields/shoeSize').set(hr).expect(404);
    await t.api.delete('/api/v1/fields/shoeSize').set(hr).expect(404);
    // A value for it is now an unknown field.
    const res = await t.api.patch(`/api/v1/users/${a.externalId as string}`).set(hr).send({ fields: { shoeSize: 40 } }).expect(400);
    expect(pathsOf(res.body)).to.deep.equal(['fields.shoeSize']);
  });

  it('when a role without fields:write defines a field, then 403', async () => {
    await t.api.put('/api/v1/fields/other').set(await t.auth('support')).send({ label: 'x', type: 'text' }).expect(403);
    await t.api.delete('/api/v1/fields/department').set(await t.auth('viewer')).expect(403);
  });
});
