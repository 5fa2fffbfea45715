import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { parseFilter } from '../../../src/scim/filter.js';
import { compileUserFilter } from '../../../src/scim/user-query.js';
import { storedState } from '../../helpers/stored-state.js';
import { waitForJob } from '../membership/membership-helpers.js';
import { bodyOf, ENTERPRISE_URN, expectScimError, FIELDS_URN, LIST_URN, oktaUser, patchOp, scim, unique, USER_URN } from './scim-helpers.js';

describe('SCIM: Users', () => {
  let t: TestService;
  let s: ReturnType<typeof scim>;
  before(async () => {
    t = await startTestService('scimusers');
    s = scim(t, await t.auth('hr-feed'));
    const admin = await t.auth('admin');
    await t.api.put('/api/v1/fields/department').set(admin).send({ label: 'Department', type: 'text' }).expect(201);
    await t.api.put('/api/v1/fields/employeeNumber').set(admin).send({ label: 'Employee number', type: 'number' }).expect(201);
    await t.api.put('/api/v1/fields/hireDate').set(admin).send({ label: 'Hire date', type: 'date' }).expect(201);
  });
  after(async () => t.stop());
  const users = () => t.service.database.db.collection('users');

  it('when a User is POSTed, then 201 with the resource, Location and ETag, stored under the SCIM externalId', async () => {
    const body = oktaUser({ [ENTERPRISE_URN]: { department: 'Sales', employeeNumber: '42', costCenter: 'ignored: no such field' } });
    const res = await s.post('/Users', body).expect(201);
    const r = bodyOf(res);
    expect(res.headers['content-type']).to.match(/^application\/scim\+json/);
    expect(r.id).to.equal(body.externalId);
    expect(r).to.include({ userName: body.userName, active: true, userType: 'learner' });
    expect(r.name).to.include({ givenName: 'Ana', familyName: 'Silva' });
    expect(r[ENTERPRISE_URN]).to.deep.equal({ department: 'Sales', employeeNumber: '42' });
    expect(r[FIELDS_URN]).to.deep.equal({ department: 'Sales', employeeNumber: 42 });
    expect(res.headers.location).to.match(new RegExp(`/scim/v2/Users/${r.id as string}$`));
    expect(res.headers.etag).to.equal(r.meta.version);
    const stored = await users().findOne({ _id: r.id });
    expect(stored).to.include({ email: body.userName, firstName: 'Ana', lastName: 'Silva', type: 'learner', status: 'active' });
    expect(stored!.fields).to.deep.equal({ department: 'Sales', employeeNumber: 42 });
  });

  it('when a SCIM write moves a user into or out of an automatic group, then membership is settled when it answers and history names the SCIM key', async () => {
    const admin = await t.auth('admin');
    const rule = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Logistics' }] } };
    const group = (await t.api.post('/api/v1/groups').set(admin).send({ name: `Logistics ${unique()}`, type: 'automatic', rule }).expect(201)).body as { id: string; jobId: string };
    // The group's first sync runs beside the SCIM writes otherwise: a sync scanning while the user is created adds
    // them itself, and history rightly names the sync, not the SCIM key.
    await waitForJob(t, admin, group.jobId);
    const member = async (id: string) => (await t.service.database.db.collection('memberships').countDocuments({ group: group.id, externalId: id })) === 1;

    const created = bodyOf(await s.post('/Users', oktaUser({ [ENTERPRISE_URN]: { department: 'Logistics' } })).expect(201));
    expect(await member(created.id as string)).to.equal(true);
    await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'Replace', path: `${ENTERPRISE_URN}:department`, value: 'Sales' })).expect(200);
    expect(await member(created.id as string)).to.equal(false);

    const history = (await t.api.get(`/api/v1/groups/${group.id}/history?externalId=${created.id as string}`).set(admin).expect(200)).body.items as Array<{ action: string; actor?: string }>;
    expect(history.map((h) => h.action).sort()).to.deep.equal(['added', 'removed']);
    for (const h of history) expect(h.actor).to.match(/^key:test hr-feed \(key_[0-9a-f]+\)$/);
  });

  it('when the same User is POSTed again, then 409 uniqueness and nothing changes', async () => {
    const body = oktaUser();
    await s.post('/Users', body).expect(201);
    const before = await users().findOne({ _id: body.externalId as never });
    expectScimError(await s.post('/Users', { ...body, name: { givenName: 'Other', familyName: 'Name' } }), 409, 'uniqueness');
    expect(await users().findOne({ _id: body.externalId as never })).to.deep.equal(before);
  });

  it('when two POSTs of one new User race, then one creates it and the other is a 409 that changed nothing', async () => {
    for (let round = 0; round < 8; round++) {
      const body = oktaUser();
      const other = { ...body, name: { givenName: 'Other', familyName: 'Name' } };
      const [a, b] = await Promise.all([s.post('/Users', body), s.post('/Users', other)]);
      expect([a.status, b.status].sort(), `round ${round}`).to.deep.equal([201, 409]);
      const winner = a.status === 201 ? 'Ana' : 'Other';
      expect(await users().findOne({ _id: body.externalId as never }), `round ${round}`).to.include({ firstName: winner, version: 1 });
    }
  });

  it('when a User takes an email another user holds, then 409 uniqueness', async () => {
    const first = oktaUser();
    await s.post('/Users', first).expect(201);
    const res = await s.post('/Users', oktaUser({ userName: (first.userName as string).toUpperCase() }));
    expectScimError(res, 409, 'uniqueness');
  });

  it('when a User is POSTed without externalId, then its userName becomes its id', async () => {
    const { externalId: _e, ...body } = oktaUser();
    const r = bodyOf(await s.post('/Users', body).expect(201));
    expect(r.id).to.equal(body.userName);
  });

  it('when a User is bad, then 400 names every SCIM attribute at fault and nothing is stored', async () => {
    const body = oktaUser({ userName: 'not-an-email', name: { givenName: '', familyName: 'X' } });
    const res = await s.post('/Users', body);
    expectScimError(res, 400, 'invalidValue');
    expect(bodyOf(res).detail).to.include('userName').and.include('name.givenName');
    expect(await users().countDocuments({ _id: body.externalId as never })).to.equal(0);
  });

  it('when a User is read, listed by userName, replaced and deleted, then each answers as SCIM says', async () => {
    const body = oktaUser();
    const created = bodyOf(await s.post('/Users', body).expect(201));
    const got = bodyOf(await s.get(`/Users/${created.id as string}`).expect(200));
    expect(got).to.deep.equal(created);

    const list = bodyOf(await s.get(`/Users?filter=${encodeURIComponent(`userName eq "${(body.userName as string).toUpperCase()}"`)}&startIndex=1&count=100`).expect(200));
    expect(list).to.include({ totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(list.schemas).to.deep.equal([LIST_URN]);
    expect(list.Resources[0].id).to.equal(created.id);

    const replaced = bodyOf(await s.put(`/Users/${created.id as string}`, { ...body, name: { givenName: 'Ana', familyName: 'Costa' }, userType: 'Employee' }).expect(200));
    expect(replaced.name.familyName).to.equal('Costa');
    expect(replaced.userType).to.equal('staff');
    expect(replaced.meta.version).to.not.equal(created.meta.version);
    expect(await users().findOne({ _id: created.id })).to.include({ lastName: 'Costa', type: 'staff' });

    await s.delete(`/Users/${created.id as string}`).expect(204);
    expectScimError(await s.get(`/Users/${created.id as string}`), 404);
    expect(await users().countDocuments({ _id: created.id })).to.equal(0);
  });

  it('when If-Match names an old version, then 412 and nothing changes; the current version passes', async () => {
    const created = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'name.familyName', value: 'Lima' })).expect(200);
    const stale = await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'name.familyName', value: 'Nope' })).set('If-Match', created.meta.version as string);
    expectScimError(stale, 412);
    expect(await users().findOne({ _id: created.id })).to.include({ lastName: 'Lima' });
    const current = bodyOf(await s.get(`/Users/${created.id as string}`).expect(200));
    await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'name.familyName', value: 'Reis' })).set('If-Match', current.meta.version as string).expect(200);
  });

  it('when a PATCH adds, replaces and removes attributes in any case, then exactly those change', async () => {
    const created = bodyOf(await s.post('/Users', oktaUser({ [FIELDS_URN]: { department: 'Sales', hireDate: '2024-01-02' } })).expect(201));
    const res = await s.patch(
      `/Users/${created.id as string}`,
      patchOp(
        { op: 'Replace', path: 'NAME.GIVENNAME', value: 'Bia' },
        { op: 'Add', path: `${ENTERPRISE_URN}:department`, value: 'Ops' },
        { op: 'Remove', path: `${FIELDS_URN}:hireDate` },
        { op: 'replace', value: { active: 'False', [FIELDS_URN]: { employeeNumber: '7' } } },
      ),
    );
    expect(res.status, res.text).to.equal(200);
    const r = bodyOf(res);
    expect(r.name.givenName).to.equal('Bia');
    expect(r.active).to.equal(false);
    expect(r[FIELDS_URN]).to.deep.equal({ department: 'Ops', employeeNumber: 7 });
    const stored = await users().findOne({ _id: created.id });
    expect(stored).to.include({ firstName: 'Bia', status: 'inactive' });
    expect(stored!.fields).to.deep.equal({ department: 'Ops', employeeNumber: 7 });
    // An inactive user is still there to be read and found.
    expect(bodyOf(await s.get(`/Users/${created.id as string}`).expect(200)).active).to.equal(false);
  });

  it('when a PATCH removes a required attribute or changes the id, then 400 and nothing changes', async () => {
    const created = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    const before = await users().findOne({ _id: created.id });
    expectScimError(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'remove', path: 'name.familyName' })), 400, 'invalidValue');
    expectScimError(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'id', value: 'x' })), 400, 'mutability');
    expectScimError(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'externalId', value: 'someone-else' })), 400, 'mutability');
    expectScimError(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'jump', path: 'active', value: true })), 400, 'invalidSyntax');
    expect(await users().findOne({ _id: created.id })).to.deep.equal(before);
  });

  it('when users are listed with attributes, excludedAttributes, sortBy and paging, then the page is as asked', async () => {
    const tag = unique('p');
    for (const given of ['Cid', 'Ana', 'Bea']) {
      await s.post('/Users', oktaUser({ userName: `${given.toLowerCase()}.${tag}@paging.example`, externalId: `${given}-${tag}`, name: { givenName: given, familyName: tag } })).expect(201);
    }
    const filter = encodeURIComponent(`userName ew "${tag}@paging.example"`);
    const page = bodyOf(await s.get(`/Users?filter=${filter}&sortBy=name.givenName&startIndex=2&count=1&attributes=userName`).expect(200));
    expect(page).to.include({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.Resources).to.deep.equal([{ schemas: page.Resources[0].schemas, id: `Bea-${tag}`, userName: `bea.${tag}@paging.example` }]);
    const desc = bodyOf(await s.get(`/Users?filter=${filter}&sortBy=userName&sortOrder=descending&excludedAttributes=emails,name,meta`).expect(200));
    expect(desc.Resources.map((r: { id: string }) => r.id)).to.deep.equal([`Cid-${tag}`, `Bea-${tag}`, `Ana-${tag}`]);
    expect(desc.Resources[0]).to.not.have.any.keys('emails', 'name', 'meta');
    expect(desc.Resources[0]).to.have.property('userName');
  });

  it('when a filter uses the grammar beyond eq, then the database answers it', async () => {
    const tag = unique('f');
    await s.post('/Users', oktaUser({ userName: `x.${tag}@f.example`, externalId: `x-${tag}`, name: { givenName: 'Xavi', familyName: tag }, [FIELDS_URN]: { employeeNumber: 5 } })).expect(201);
    await s.post('/Users', oktaUser({ userName: `y.${tag}@f.example`, externalId: `y-${tag}`, name: { givenName: 'Yara', familyName: tag }, active: false, [FIELDS_URN]: { employeeNumber: 9 } })).expect(201);
    const ids = async (f: string) => bodyOf(await s.get(`/Users?filter=${encodeURIComponent(f)}&sortBy=id`).expect(200)).Resources.map((r: { id: string }) => r.id);
    expect(await ids(`name.familyName eq "${tag}" and active eq false`)).to.deep.equal([`y-${tag}`]);
    expect(await ids(`name.familyName eq "${tag}" and not (active eq false)`)).to.deep.equal([`x-${tag}`]);
    expect(await ids(`name.familyName eq "${tag}" and ${FIELDS_URN}:employeeNumber gt 6`)).to.deep.equal([`y-${tag}`]);
    expect(await ids(`(name.givenName sw "xa" or name.givenName sw "YA") and name.familyName eq "${tag}"`)).to.deep.equal([`x-${tag}`, `y-${tag}`]);
    expect(await ids(`emails[type eq "work" and value co "${tag}"] and name.givenName eq "YARA"`)).to.deep.equal([`y-${tag}`]);
    expect(await ids(`displayName eq "Xavi ${tag}"`)).to.deep.equal([`x-${tag}`]);
    expectScimError(await s.get(`/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter');
  });

  it('when users are looked up by userName, externalId or work email, then the whole filter goes to the database as an equality on the indexed field', async () => {
    const created = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    for (const text of [`userName eq "${(created.userName as string).toUpperCase()}"`, `externalId eq "${created.id as string}"`, `emails[type eq "work"].value eq "${created.userName as string}"`]) {
      const { query, exact } = compileUserFilter(parseFilter(text), new Map());
      expect(exact, text).to.equal(true);
      const explained = await t.service.database.db.command({ explain: { find: 'users', filter: query }, verbosity: 'queryPlanner' });
      const plan = JSON.stringify(explained.queryPlanner);
      if ('filterPushdown' in explained) {
        // FerretDB: the whole filter goes to PostgreSQL as the containment its GIN index on the field serves
        // (`_jsonb -> 'emailLower' @> '"…"'`); which plan PostgreSQL then picks depends on the table's size.
        const field = Object.keys(query)[0]!;
        expect(explained.filterPushdown, text).to.equal(true);
        expect(plan, text).to.include(`-> '${field}'::text) @> `);
      } else {
        expect(plan, text).to.match(/IXSCAN|IDHACK|EXPRESS/);
      }
      const found = bodyOf(await s.get(`/Users?filter=${encodeURIComponent(text)}`).expect(200));
      expect(found.Resources.map((r: { id: string }) => r.id), text).to.deep.equal([created.id]);
    }
  });

  it('when writes are refused (bad values, bad syntax, a bad filter, a stale version), then nothing is stored but the request log', async () => {
    const created = bodyOf(await s.post('/Users', oktaUser()).expect(201));
    // The log of SCIM requests is written after each answer: let the last one land before comparing.
    await new Promise((r) => setTimeout(r, 200));
    const before = await storedState(t.service.database.db, ['agendaJobs', 'scim_requests']);
    expectScimError(await s.post('/Users', oktaUser({ userType: 'Robot' })), 400, 'invalidValue');
    expectScimError(await s.post('/Users', oktaUser({ active: 'perhaps' })), 400, 'invalidValue');
    expectScimError(await s.put(`/Users/${created.id as string}`, { ...created, userName: 'x' }), 400, 'invalidValue');
    expectScimError(await s.patch(`/Users/${created.id as string}`, { Operations: 'no' }), 400, 'invalidSyntax');
    expectScimError(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'emails[type eq', value: 'x' })), 400, 'invalidPath');
    expectScimError(await s.patch(`/Users/${created.id as string}`, patchOp({ op: 'replace', path: 'active', value: false })).set('If-Match', 'W/"stale"'), 412);
    expectScimError(await s.delete(`/Users/${created.id as string}`).set('If-Match', 'W/"stale"'), 412);
    expectScimError(await s.get(`/Users?filter=${encodeURIComponent('userName eq "a" and (')}`), 400, 'invalidFilter');
    expectScimError(await s.get('/Users?count=many'), 400, 'invalidValue');
    expect(await storedState(t.service.database.db, ['agendaJobs', 'scim_requests'])).to.deep.equal(before);
  });

  it('when no or another key calls, then 401 or 403 as SCIM errors', async () => {
    expectScimError(await t.api.get('/scim/v2/Users'), 401);
    expectScimError(await t.api.get('/scim/v2/Users').set('Authorization', 'Bearer agk_nope'), 401);
    expectScimError(await t.api.get('/scim/v2/Users').set(await t.auth('viewer')), 403);
    expect(await t.api.get('/scim/v2/Users').set(await t.auth('admin'))).to.have.property('status', 200);
  });

  it('when a body is not JSON or a path is unknown, then SCIM errors, never problem documents', async () => {
    const auth = await t.auth('hr-feed');
    expectScimError(await t.api.post('/scim/v2/Users').set(auth).set('Content-Type', 'application/scim+json').send('{nope'), 400, 'invalidSyntax');
    expectScimError(await t.api.post('/scim/v2/Users').set(auth).set('Content-Type', 'text/plain').send('hello'), 415);
    expectScimError(await t.api.get('/scim/v2/Nothing').set(auth), 404);
    expect(USER_URN).to.be.a('string');
  });
});
