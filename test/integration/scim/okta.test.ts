// Okta's provisioning client, as its SCIM 2.0 test spec (the "Runscope" spec Okta publishes for SCIM 2.0 apps)
// and its provisioning documentation describe it. Each case names the step of the spec or the behaviour it models.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { bodyOf, expectScimError, GROUP_URN, LIST_URN, oktaUser, patchOp, scim, USER_URN } from './scim-helpers.js';

describe('SCIM conformance: Okta', () => {
  let t: TestService;
  let s: ReturnType<typeof scim>;
  before(async () => {
    t = await startTestService('scimokta');
    s = scim(t, await t.auth('hr-feed'));
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');

  it('spec "Required Test: Test Users endpoint": GET /Users?count=1&startIndex=1 is a ListResponse', async () => {
    await s.post('/Users', oktaUser()).expect(201);
    const r = bodyOf(await s.get('/Users?count=1&startIndex=1').expect(200));
    expect(r.schemas).to.deep.equal([LIST_URN]);
    expect(r.Resources).to.have.length(1);
    expect(r.itemsPerPage).to.equal(1);
    expect(r.startIndex).to.equal(1);
    expect(r.totalResults).to.be.at.least(1);
  });

  it('spec "Required Test: Get Users/{{id}}" and "Test invalid User by username": a random userName eq lookup is an empty list', async () => {
    const r = bodyOf(await s.get(`/Users?filter=${encodeURIComponent('userName eq "9b5d9d2c-0a2f-4e53-a9a3-5d7d0cc1b1e1@example.com"')}&startIndex=1&count=100`).expect(200));
    expect(r).to.include({ totalResults: 0, itemsPerPage: 0, startIndex: 1 });
    expect(r.Resources).to.deep.equal([]);
  });

  it('spec "Test invalid User by ID": GET /Users/{random} is a 404 SCIM error', async () => {
    expectScimError(await s.get('/Users/010101001010101'), 404);
  });

  it('the whole user lifecycle as Okta runs it: look up, create, duplicate, read, upper-cased lookup, PUT update, deactivate, still found', async () => {
    const user = oktaUser();
    const userName = user.userName as string;
    // Okta looks the user up by userName (startIndex/count=100) before creating.
    const lookup = `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`;
    expect(bodyOf(await s.get(lookup).expect(200)).totalResults).to.equal(0);
    // "Create Okta user with realistic values": 201 and the resource.
    const created = bodyOf(await s.post('/Users', user).expect(201));
    expect(created.schemas).to.include(USER_URN);
    expect(created).to.include({ userName, active: true });
    expect(created.name).to.include({ givenName: 'Ana', familyName: 'Silva' });
    expect(created.emails[0]).to.include({ value: userName, primary: true });
    // "Check for duplicate user": the same user again is a 409 with scimType uniqueness.
    expectScimError(await s.post('/Users', user), 409, 'uniqueness');
    // "Verify that user was created": found by id and by userName.
    expect(bodyOf(await s.get(`/Users/${created.id as string}`).expect(200)).userName).to.equal(userName);
    expect(bodyOf(await s.get(lookup).expect(200)).Resources[0].id).to.equal(created.id);
    // "Username Case Sensitivity Check": the userName filter matches ignoring case.
    const upper = bodyOf(await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}&startIndex=1&count=100`).expect(200));
    expect(upper.totalResults).to.equal(1);
    // Profile updates arrive as a PUT of the whole user.
    const updated = bodyOf(await s.put(`/Users/${created.id as string}`, { ...created, name: { givenName: 'Ana', familyName: 'Okta' } }).expect(200));
    expect(updated.name.familyName).to.equal('Okta');
    expect(await users().findOne({ _id: created.id })).to.include({ lastName: 'Okta' });
    // Deactivation: a path-less replace of active, never a DELETE.
    const deactivated = bodyOf(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', value: { active: false } })).expect(200));
    expect(deactivated.active).to.equal(false);
    expect(await users().findOne({ _id: created.id })).to.include({ status: 'inactive' });
    // Still there for Okta to read and reactivate.
    expect(bodyOf(await s.get(lookup).expect(200)).Resources[0].active).to.equal(false);
    const reactivated = bodyOf(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', value: { active: true } })).expect(200));
    expect(reactivated.active).to.equal(true);
  });

  it('an email change as Okta may send it, an add to emails of a new primary address, changes the user\'s email', async () => {
    const created = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    const moved = `${created.id as string}.moved@example.com`;
    const res = await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'add', path: 'emails', value: [{ value: moved, type: 'work', primary: true }] }));
    expect(res.status, res.text).to.equal(200);
    expect(bodyOf(res)).to.include({ userName: moved });
    expect(await users().findOne({ _id: created.id })).to.include({ email: moved });
  });

  it('paging as Okta imports users: startIndex and count walk every user once', async () => {
    const total = bodyOf(await s.get('/Users?count=0').expect(200)).totalResults as number;
    const seen: string[] = [];
    for (let start = 1; start <= total; start += 2) {
      const page = bodyOf(await s.get(`/Users?startIndex=${start}&count=2`).expect(200));
      expect(page.totalResults).to.equal(total);
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
    }
    expect(seen).to.have.length(total);
    expect(new Set(seen).size).to.equal(total);
  });

  it('group push: create a group, add and remove members by operation, rename; one unknown member does not keep the others out', async () => {
    const a = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    const b = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    const group = bodyOf(await s.post('/Groups', { schemas: [GROUP_URN], displayName: `Okta push ${a.id as string}`, members: [] }).expect(201));
    expect(group.members).to.deep.equal([]);
    await s.patch(`/Groups/${group.id as string}`, patchOp({ op: 'add', path: 'members', value: [{ value: a.id, display: 'A' }, { value: b.id }] })).expect(204);
    const members = async () => ((bodyOf(await s.get(`/Groups/${group.id as string}`).expect(200)).members ?? []) as Array<{ value: string }>).map((m) => m.value).sort();
    expect(await members()).to.deep.equal([a.id, b.id].sort());
    // Okta does not retry a 400: the known member is removed, the unknown one is named in the answer.
    const partial = await s.patch(`/Groups/${group.id as string}`, patchOp({ op: 'remove', path: 'members', value: [{ value: a.id }] }, { op: 'add', path: 'members', value: [{ value: 'nobody-okta' }] }));
    expectScimError(partial, 400, 'invalidValue');
    expect(bodyOf(partial).detail).to.include('nobody-okta');
    expect(await members()).to.deep.equal([b.id]);
    await s.patch(`/Groups/${group.id as string}`, patchOp({ op: 'replace', value: { id: group.id, displayName: `Renamed ${a.id as string}` } })).expect(204);
    expect(bodyOf(await s.get(`/Groups/${group.id as string}?excludedAttributes=members`).expect(200))).to.include({ displayName: `Renamed ${a.id as string}` });
    const history = (await t.api.get(`/api/v1/groups/${group.id as string}/history`).set(await t.auth('admin')).expect(200)).body.items as Array<{ externalId: string; action: string; actor: string }>;
    expect(history.map((h) => `${h.action} ${h.externalId}`).sort()).to.deep.equal([`added ${a.id as string}`, `added ${b.id as string}`, `removed ${a.id as string}`].sort());
    expect(history.every((h) => h.actor.startsWith('key:test hr-feed'))).to.equal(true);
  });
});
