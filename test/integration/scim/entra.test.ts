// Microsoft Entra's provisioning service, as Microsoft's SCIM validator and its "Develop a SCIM endpoint"
// documentation describe it (the known quirks: capitalised ops, string booleans unless the tenant URL carries
// ?aadOptscim062020, eq/and-only filters on userName, externalId and emails[type eq "work"].value). Each case names
// the behaviour it models.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { startTestService, type TestService } from '../../helpers/service.js';
import { bodyOf, ENTERPRISE_URN, expectScimError, GROUP_URN, patchOp, scim, unique, USER_URN } from './scim-helpers.js';

/** A User as Entra's default attribute mapping sends one. */
function entraUser(): Record<string, unknown> {
  const nick = unique('entra');
  return {
    schemas: [USER_URN, ENTERPRISE_URN],
    externalId: nick,
    userName: `${nick}@contoso.example`,
    active: true,
    displayName: 'Bruno Lima',
    emails: [{ primary: true, type: 'work', value: `${nick}@contoso.example` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Bruno Lima', familyName: 'Lima', givenName: 'Bruno' },
    roles: [],
    [ENTERPRISE_URN]: { department: 'Finance', employeeNumber: '1001' },
  };
}

describe('SCIM conformance: Microsoft Entra', () => {
  let t: TestService;
  let s: ReturnType<typeof scim>;
  before(async () => {
    t = await startTestService('scimentra');
    s = scim(t, await t.auth('hr-feed'));
    await t.api.put('/api/v1/fields/department').set(await t.auth('admin')).send({ label: 'Department', type: 'text' }).expect(201);
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');

  it('"Test connection": a userName eq lookup of a random GUID answers 200 with an empty list', async () => {
    const r = bodyOf(await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`).expect(200));
    expect(r).to.include({ totalResults: 0 });
    expect(r.Resources).to.deep.equal([]);
  });

  it('the tenant URL flag ?aadOptscim062020 is accepted on every request', async () => {
    await s.get(`/Users?aadOptscim062020&filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`).expect(200);
    const created = bodyOf(await s.post('/Users?aadOptscim062020', entraUser()).expect(201));
    await s.patch(`/Users/${created.id as string}?aadOptscim062020`, patchOp({ op: 'replace', path: 'active', value: false })).expect(200);
  });

  it('the provisioning cycle: lookups by externalId and by work email, create, capitalised ops with string booleans, soft delete by active=False', async () => {
    const user = entraUser();
    const byExternalId = `/Users?filter=${encodeURIComponent(`externalId eq "${user.externalId as string}"`)}`;
    expect(bodyOf(await s.get(byExternalId).expect(200)).totalResults).to.equal(0);
    const created = bodyOf(await s.post('/Users', user).expect(201));
    expect(created.id).to.equal(user.externalId);
    expect(created[ENTERPRISE_URN]).to.deep.equal({ department: 'Finance' });
    expect(bodyOf(await s.get(byExternalId).expect(200)).Resources[0].id).to.equal(created.id);
    const byEmail = bodyOf(await s.get(`/Users?filter=${encodeURIComponent(`emails[type eq "work"].value eq "${(user.userName as string).toUpperCase()}"`)}`).expect(200));
    expect(byEmail.Resources.map((r: { id: string }) => r.id)).to.deep.equal([created.id]);
    const both = bodyOf(await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${user.userName as string}" and externalId eq "${user.externalId as string}"`)}`).expect(200));
    expect(both.totalResults).to.equal(1);

    // Entra's update: capitalised ops, a string boolean, the work email by value path, an enterprise attribute.
    const newEmail = `${unique('moved')}@contoso.example`;
    const res = await s.patch(
      `/Users/${created.id as string}`,
      patchOp(
        { op: 'Replace', path: 'displayName', value: 'Bruno L.' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: newEmail },
        { op: 'Replace', path: 'name.familyName', value: 'Lima-Souza' },
        { op: 'Add', path: `${ENTERPRISE_URN}:department`, value: 'Treasury' },
        { op: 'Replace', path: 'active', value: 'False' },
      ),
    );
    expect(res.status, res.text).to.equal(200);
    const stored = await users().findOne({ _id: created.id });
    expect(stored).to.include({ email: newEmail, lastName: 'Lima-Souza', status: 'inactive' });
    expect(stored!.fields).to.deep.equal({ department: 'Treasury' });
    // Soft-deleted users are still returned.
    const still = bodyOf(await s.get(`/Users/${created.id as string}`).expect(200));
    expect(still).to.include({ active: false, userName: newEmail });
    await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'Replace', path: 'active', value: 'True' })).expect(200);
    expect(await users().findOne({ _id: created.id })).to.include({ status: 'active' });
    // A boolean that is neither is refused, naming it.
    const bad = await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'Replace', path: 'active', value: 'maybe' }));
    expectScimError(bad, 400, 'invalidValue');
    expect(bodyOf(bad).detail).to.include('active');
  });

  it('a path-less Replace whose value names attributes by dotted and by URN paths changes each of them', async () => {
    const created = bodyOf(await s.post('/Users', entraUser()).expect(201));
    const res = await s.patch(
      `/Users/${created.id as string}`,
      patchOp({ op: 'Replace', value: { 'name.givenName': 'Bruna', 'name.familyName': 'Reis', [`${ENTERPRISE_URN}:department`]: 'Audit', active: 'false' } }),
    );
    expect(res.status, res.text).to.equal(200);
    const stored = await users().findOne({ _id: created.id });
    expect(stored).to.include({ firstName: 'Bruna', lastName: 'Reis', status: 'inactive' });
    expect(stored!.fields).to.deep.equal({ department: 'Audit' });
  });

  it('groups: lookup with excludedAttributes=members, member removal as a Remove with a value list and as members[value eq "id"], PATCH answered 204', async () => {
    const a = bodyOf(await s.post('/Users', entraUser()).expect(201));
    const b = bodyOf(await s.post('/Users', entraUser()).expect(201));
    const c = bodyOf(await s.post('/Users', entraUser()).expect(201));
    const name = `Entra ${a.id as string}`;
    const lookup = bodyOf(await s.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}&excludedAttributes=members`).expect(200));
    expect(lookup.totalResults).to.equal(0);
    const group = bodyOf(await s.post('/Groups', { schemas: [GROUP_URN], displayName: name, externalId: randomUUID(), members: [{ value: a.id }, { value: b.id }, { value: c.id }] }).expect(201));
    const found = bodyOf(await s.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}&excludedAttributes=members`).expect(200));
    expect(found.Resources).to.have.length(1);
    expect(found.Resources[0]).to.not.have.property('members');
    await s.patch(`/Groups/${group.id as string}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: a.id }] })).expect(204);
    await s.patch(`/Groups/${group.id as string}`, patchOp({ op: 'Remove', path: `members[value eq "${b.id as string}"]` })).expect(204);
    const members = bodyOf(await s.get(`/Groups/${group.id as string}`).expect(200)).members as Array<{ value: string }>;
    expect(members.map((m) => m.value)).to.deep.equal([c.id]);
    const stored = await t.service.database.db.collection('memberships').find({ group: group.id }).toArray();
    expect(stored.map((m) => m.externalId)).to.deep.equal([c.id]);
  });

  it('automatic and class groups are read-only: every write is a 400 mutability and changes nothing', async () => {
    const admin = await t.auth('admin');
    const auto = (
      await t.api
        .post('/api/v1/groups')
        .set(admin)
        .send({ name: `Auto ${unique()}`, type: 'automatic', rule: { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } } })
        .expect(201)
    ).body as { id: string };
    const member = bodyOf(await s.post('/Users', entraUser()).expect(201));
    expectScimError(await s.patch(`/Groups/${auto.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: member.id }] })), 400, 'mutability');
    expectScimError(await s.put(`/Groups/${auto.id}`, { schemas: [GROUP_URN], displayName: 'x', members: [] }), 400, 'mutability');
    expectScimError(await s.delete(`/Groups/${auto.id}`), 400, 'mutability');
    expect(bodyOf(await s.get(`/Groups/${auto.id}`).expect(200)).displayName).to.match(/^Auto /);
    expect(await t.service.database.db.collection('memberships').countDocuments({ group: auto.id, externalId: member.id })).to.equal(0);
  });

  it('/Schemas lists the enterprise extension and ours, with an attribute per field definition, typed', async () => {
    await t.api.put('/api/v1/fields/startDate').set(await t.auth('admin')).send({ label: 'Start date', type: 'date' }).expect(201);
    await t.api.put('/api/v1/fields/level').set(await t.auth('admin')).send({ label: 'Level', type: 'select', options: ['junior', 'senior'] }).expect(201);
    const r = bodyOf(await s.get('/Schemas').expect(200));
    const ids = r.Resources.map((x: { id: string }) => x.id);
    expect(ids).to.include.members([USER_URN, ENTERPRISE_URN, GROUP_URN, 'urn:ietf:params:scim:schemas:extension:autogroups:2.0:User']);
    const ours = r.Resources.find((x: { id: string }) => x.id.includes('autogroups'));
    const byName = Object.fromEntries(ours.attributes.map((a: { name: string }) => [a.name, a]));
    expect(byName.department).to.include({ type: 'string' });
    expect(byName.level).to.include({ type: 'string' });
    expect(byName.level.canonicalValues).to.deep.equal(['junior', 'senior']);
    expect(byName.startDate.description).to.include('YYYY-MM-DD');
    const types = bodyOf(await s.get('/ResourceTypes').expect(200));
    expect(types.Resources.find((x: { id: string }) => x.id === 'User').schemaExtensions.map((e: { schema: string }) => e.schema)).to.include(ENTERPRISE_URN);
    const config = bodyOf(await s.get('/ServiceProviderConfig').expect(200));
    expect(config).to.deep.include({ patch: { supported: true }, etag: { supported: true }, sort: { supported: true } });
    expect(config.bulk.supported).to.equal(true);
  });

  it('Bulk, as Entra\'s API-driven inbound provisioning sends it: users by bulkId, a group naming them by bulkId, failures per operation', async () => {
    const u1 = entraUser();
    const u2 = entraUser();
    const bad = { ...entraUser(), userName: 'not-an-email' };
    const res = await s.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'u1', data: u1 },
        { method: 'POST', path: '/Users', bulkId: 'u2', data: u2 },
        { method: 'POST', path: '/Users', bulkId: 'bad', data: bad },
        { method: 'POST', path: '/Users', bulkId: 'again', data: u1 },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_URN], displayName: `Bulk ${u1.externalId as string}`, members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] } },
        { method: 'PATCH', path: '/Users/bulkId:u2', data: patchOp({ op: 'Replace', path: 'active', value: 'False' }) },
      ],
    });
    expect(res.status, res.text).to.equal(200);
    const ops = bodyOf(res).Operations as Array<{ bulkId?: string; status: string; location?: string; response?: { scimType?: string } }>;
    expect(ops.map((o) => o.status)).to.deep.equal(['201', '201', '400', '409', '201', '200']);
    expect(ops[3]!.response!.scimType).to.equal('uniqueness');
    expect(ops[0]!.location).to.match(new RegExp(`/Users/${u1.externalId as string}$`));
    const groupId = ops[4]!.location!.split('/').pop()!;
    const members = await t.service.database.db.collection('memberships').find({ group: groupId }).toArray();
    expect(members.map((m) => m.externalId).sort()).to.deep.equal([u1.externalId, u2.externalId].sort());
    expect(await users().findOne({ _id: u2.externalId as never })).to.include({ status: 'inactive' });
    expect(await users().countDocuments({ email: 'not-an-email' })).to.equal(0);
  });

  it('Bulk with failOnErrors stops after that many errors: later operations are not applied', async () => {
    const later = entraUser();
    const res = await s.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      failOnErrors: 1,
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'x', data: { ...entraUser(), userName: 'nope' } },
        { method: 'POST', path: '/Users', bulkId: 'y', data: later },
      ],
    });
    expect(res.status, res.text).to.equal(200);
    const ops = bodyOf(res).Operations as Array<{ status: string }>;
    expect(ops.map((o) => o.status)).to.deep.equal(['400']);
    expect(await users().countDocuments({ _id: later.externalId as never })).to.equal(0);
  });
});
