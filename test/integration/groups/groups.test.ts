import { expect } from 'chai';
import { parse as parseCsv } from 'csv-parse/sync';
import { startTestService, type TestService } from '../../helpers/service.js';
import {
  createGroup,
  defineField,
  enrol,
  expectSorted,
  getGroup,
  historyOf,
  memberIds,
  putCourse,
  putUser,
  rules,
  uniq,
  userBody,
  waitForJob,
  type Auth,
} from '../membership/membership-helpers.js';

/** The ETag of GET /groups/{id}: a strong tag, a hash of the representation. */
const STRONG_TAG = /^"[A-Za-z0-9_-]{27}"$/;

describe('Groups: create, read, change, delete; rule versions; explain and preview', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('groups');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await putCourse(t, hr, 'DRV-101', 'Driver Safety');
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: ['Sales', 'Engineering', 'People'] });
    await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
  });
  after(async () => t.stop());
  const db = () => t.service.database.db;

  it('when an automatic group is created, then 201 with id, rule version 1, a queued sync, and the stored group has no API-only fields', async () => {
    const name = uniq('Sales team ');
    const res = await t.api
      .post('/api/v1/groups')
      .set(admin)
      .send({ name, description: 'Everyone in Sales', type: 'automatic', rule: rules.field('department', 'Sales'), courses: ['DRV-101'] })
      .expect(201);
    expect(res.body.id).to.match(/^grp_[0-9a-f]{16}$/);
    expect(res.body).to.include({ name, type: 'automatic', ruleVersion: 1, manualMembers: 'remove', includeInactive: false, paused: false, isDefault: false, memberCount: 0 });
    expect(res.body.courses).to.deep.equal(['DRV-101']);
    expect(res.body).to.not.have.property('_id');
    expect(res.headers.etag).to.match(STRONG_TAG);
    expect(res.headers.location).to.equal(`/api/v1/groups/${res.body.id}`);
    expect(res.body.jobId).to.be.a('string');
    await waitForJob(t, admin, res.body.jobId as string);
    const got = await t.api.get(`/api/v1/groups/${res.body.id}`).set(await t.auth('viewer')).expect(200);
    expect(got.body.sync).to.include({ state: 'idle' });
    expect(got.headers.etag).to.match(STRONG_TAG);
    const stored = await db().collection('groups').findOne({ _id: res.body.id });
    expect(stored).to.include({ name, nameLower: name.toLowerCase(), scope: '', ruleVersion: 1 });
    const versions = await db().collection('rule_versions').find({ group: res.body.id }).toArray();
    expect(versions.map((v) => v._id)).to.deep.equal([`${res.body.id}:1`]);
  });

  it('when names clash (in any case), then 409; a manual group has no sync state and no rule', async () => {
    const name = uniq('Managers ');
    const manual = await t.api.post('/api/v1/groups').set(admin).send({ name, type: 'manual' }).expect(201);
    expect(manual.body).to.not.have.property('sync');
    expect(manual.body).to.not.have.property('rule');
    expect(manual.body).to.not.have.property('jobId');
    const clash = await t.api.post('/api/v1/groups').set(admin).send({ name: name.toUpperCase(), type: 'manual' }).expect(409);
    expect(clash.body.errors[0].path).to.equal('name');
    const other = await t.api.post('/api/v1/groups').set(admin).send({ name: uniq('Other '), type: 'manual' }).expect(201);
    await t.api.patch(`/api/v1/groups/${other.body.id}`).set(admin).send({ name }).expect(409);
    await t.api.get(`/api/v1/groups/${manual.body.id}/rule`).set(admin).expect(409);
    await t.api.put(`/api/v1/groups/${manual.body.id}/rule`).set(admin).send({ rule: rules.field('team', 'x') }).expect(409);
    await t.api.post(`/api/v1/groups/${manual.body.id}/sync`).set(admin).send({}).expect(409);
  });

  it('when the body is bad, then 400 names every bad field (rule errors placed inside the rule) and nothing is stored', async () => {
    const before = await db().collection('groups').countDocuments();
    const res = await t.api.post('/api/v1/groups').set(admin).send({ name: '', type: 'automatic', manualMembers: 'sometimes', extra: 1, price: -1 }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).to.have.members(['name', 'rule', 'manualMembers', 'extra', 'price']);
    const badRule = await t.api
      .post('/api/v1/groups')
      .set(admin)
      .send({ name: uniq('Bad rule '), type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'nope' }, operator: 'equal', value: 'x' }] } } })
      .expect(400);
    expect(badRule.body.errors[0].path).to.match(/^rule\.conditions\.all\[0\]/);
    await t.api.post('/api/v1/groups').set(admin).send({ name: uniq('Manual with rule '), type: 'manual', rule: rules.field('team', 'x') }).expect(400);
    const course = await t.api.post('/api/v1/groups').set(admin).send({ name: uniq('Course '), type: 'manual', courses: ['NOPE-1'] }).expect(400);
    expect(course.body.errors[0].path).to.equal('courses[0]');
    await t.api.post('/api/v1/groups').set(admin).send({ name: uniq('Dollar '), type: 'manual', $where: 1 }).expect(400);
    expect(await db().collection('groups').countDocuments()).to.equal(before);
    const group = await createGroup(t, admin, { type: 'manual' });
    const patch = await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ type: 'automatic', rule: rules.field('team', 'x') }).expect(400);
    expect(patch.body.errors.map((e: { path: string }) => e.path)).to.have.members(['type', 'rule']);
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({}).expect(400);
    await t.api.get('/api/v1/groups/not-a-group').set(admin).expect(400);
    await t.api.get('/api/v1/groups/grp_0000000000000000').set(admin).expect(404);
  });

  it('when roles differ, then only groups:write may change groups and the integration role may read members', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    await t.api.post('/api/v1/groups').set(await t.auth('viewer')).send({ name: uniq('V '), type: 'manual' }).expect(403);
    await t.api.post('/api/v1/groups').set(hr).send({ name: uniq('H '), type: 'manual' }).expect(403);
    await t.api.post('/api/v1/groups').set(await t.auth('support')).send({ name: uniq('S '), type: 'manual' }).expect(201);
    await t.api.get(`/api/v1/groups/${group.id}/members`).set(await t.auth('integration')).expect(200);
    await t.api.put(`/api/v1/groups/${group.id}/members/anyone`).set(await t.auth('integration')).expect(403);
    await t.api.post('/api/v1/sync').set(await t.auth('viewer')).send({}).expect(403);
    await t.api.get('/api/v1/groups').expect(401);
  });

  it("when a role may not read users, then explain and preview (which show users' data) are 403 to it; the others may", async () => {
    const team = uniq('team');
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const probe = { rule: rules.field('team', team) };
    const integration = await t.auth('integration');
    const explain = await t.api.get(`/api/v1/groups/${group.id}/explain/${u}`).set(integration).expect(403);
    expect(explain.body.detail).to.contain('users:read');
    expect(explain.body).to.not.have.property('conditions');
    const preview = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(integration).send(probe).expect(403);
    expect(preview.body.detail).to.contain('users:read');
    expect(preview.body).to.not.have.property('sampleAdd');
    // The same key cannot read the user directly either: the two answers agree.
    await t.api.get(`/api/v1/users/${u}`).set(integration).expect(403);
    // It still reads the group and its members.
    await t.api.get(`/api/v1/groups/${group.id}`).set(integration).expect(200);
    expect((await t.api.get(`/api/v1/groups/${group.id}/members`).set(integration).expect(200)).body.items.map((m: { externalId: string }) => m.externalId)).to.deep.equal([u]);
    for (const role of ['admin', 'support', 'viewer'] as const) {
      await t.api.get(`/api/v1/groups/${group.id}/explain/${u}`).set(await t.auth(role)).expect(200);
      await t.api.post(`/api/v1/groups/${group.id}/preview`).set(await t.auth(role)).send(probe).expect(200);
    }
    await t.api.get(`/api/v1/groups/${group.id}/explain/${u}`).set(hr).expect(403);
  });

  it('when the name or the members of a group change, then its ETag changes and the old one no longer answers 304', async () => {
    const team = uniq('team');
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const read = () => t.api.get(`/api/v1/groups/${group.id}`).set(admin);
    const first = await read().expect(200);
    const e1 = first.headers.etag as string;
    expect(e1).to.match(STRONG_TAG);
    await read().set('If-None-Match', e1).expect(304);
    await read().set('If-None-Match', `W/${e1}`).expect(304); // If-None-Match compares weakly

    const name = uniq('Renamed ');
    const patched = await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ name }).expect(200);
    const afterName = await read().set('If-None-Match', e1).expect(200);
    expect(afterName.body.name).to.equal(name);
    const e2 = afterName.headers.etag as string;
    expect(e2).to.match(STRONG_TAG).and.not.equal(e1);
    expect(patched.headers.etag).to.equal(e2);

    const u = await putUser(t, hr, userBody({ fields: { team: `${team}-other` } }));
    await t.api.put(`/api/v1/groups/${group.id}/members/${u}`).set(admin).expect(201);
    const afterMember = await read().set('If-None-Match', e2).expect(200);
    expect(afterMember.body.memberCount).to.equal(1);
    const e3 = afterMember.headers.etag as string;
    expect(e3).to.match(STRONG_TAG).and.not.equal(e2);
    await read().set('If-None-Match', `"x", ${e3}`).expect(304);
  });

  it('when a rule is PUT with If-Match, then only a current strong tag passes (the rule version or the group ETag), * passes, anything else is 412 and stores nothing', async () => {
    const team = uniq('team');
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const put = (ifMatch: string) => t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).set('If-Match', ifMatch).send({ rule: rules.field('team', `${team}-next`) });
    const versions = async () => (await db().collection('rule_versions').find({ group: group.id }).toArray()).length;
    const stale = (await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200)).headers.etag as string;
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ description: 'changed since read' }).expect(200);

    for (const refused of ['W/"1"', '"stale-version"', 'stale-version', '"2"', '"1" "2"', '', stale]) {
      const res = await put(refused).expect(412);
      expect(res.body, refused).to.include({ status: 412, currentVersion: 1 });
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    }
    expect(await versions()).to.equal(1);
    expect((await db().collection('groups').findOne({ _id: group.id as never }))!.ruleVersion).to.equal(1);

    const current = (await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200)).headers.etag as string;
    expect((await put(current).expect(200)).body.ruleVersion).to.equal(2);
    expect((await put('"nope", W/"2", "2"').expect(200)).body.ruleVersion).to.equal(3);
    expect((await put('*').expect(200)).body.ruleVersion).to.equal(4);
    const ruleTag = (await t.api.get(`/api/v1/groups/${group.id}/rule`).set(admin).expect(200)).headers.etag as string;
    expect(ruleTag).to.equal('"4"');
    expect((await put(ruleTag).expect(200)).headers.etag).to.equal('"5"');
    expect(await versions()).to.equal(5);
  });

  it('when a group is PATCHed or DELETEd with If-Match, then only its current ETag (or *) lets the change through; any other tag is 412 and changes nothing', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const read = async () => (await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200)).headers.etag as string;
    const stale = await read();
    const patched = await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).set('If-Match', stale).send({ description: 'first' }).expect(200);
    const current = patched.headers.etag as string;
    expect(current).to.equal(await read());
    for (const refused of [stale, `W/${current}`, '"1"', 'garbage']) {
      const res = await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).set('If-Match', refused).send({ description: 'lost update' }).expect(412);
      expect(res.body, refused).to.include({ status: 412, currentEtag: current });
      await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).set('If-Match', refused).expect(412);
    }
    const stored = await db().collection('groups').findOne({ _id: group.id as never });
    expect(stored).to.include({ description: 'first' });
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).set('If-Match', '*').send({ description: 'second' }).expect(200);
    await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).set('If-Match', await read()).expect(204);
    expect(await db().collection('groups').findOne({ _id: group.id as never })).to.equal(null);
    await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).set('If-Match', '*').expect(404);
  });

  it('when groups are listed, then pages follow the cursor and can be filtered by type', async () => {
    for (let i = 0; i < 3; i++) await createGroup(t, admin, { type: 'manual' });
    const all = await t.api.get('/api/v1/groups').query({ limit: 1000 }).set(admin).expect(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await t.api
        .get('/api/v1/groups')
        .query(cursor ? { limit: 2, cursor } : { limit: 2 })
        .set(admin)
        .expect(200);
      seen.push(...res.body.items.map((g) => g.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).to.deep.equal(all.body.items.map((g: { id: string }) => g.id));
    const manual = await t.api.get('/api/v1/groups').query({ type: 'manual', limit: 1000 }).set(admin).expect(200);
    expect(manual.body.items.every((g: { type: string }) => g.type === 'manual')).to.equal(true);
  });

  it('when a rule version was stored but its group update never happened (a request that failed between the two), then reading the group discards it and the next PUT stores the next version', async () => {
    const team = uniq('team');
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    // What the failed request left: version 2 inserted, the group still at version 1.
    await db().collection('rule_versions').insertOne({ _id: `${group.id}:2` as never, group: group.id, version: 2, rule: rules.field('team', 'never applied'), createdAt: new Date() });
    const read = await t.api.get(`/api/v1/groups/${group.id}/rule`).set(admin).expect(200);
    expect(read.body.version).to.equal(1);
    expect(await db().collection('rule_versions').countDocuments({ group: group.id })).to.equal(1);
    // Left there, it made every later PUT collide with it (412) while GET showed version 1.
    await db().collection('rule_versions').insertOne({ _id: `${group.id}:2` as never, group: group.id, version: 2, rule: rules.field('team', 'never applied'), createdAt: new Date() });
    const put = await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).set('If-Match', '"1"').send({ rule: rules.field('team', `${team}-2`) }).expect(200);
    expect(put.body).to.include({ ruleVersion: 2 });
    const stored = await db().collection('rule_versions').findOne({ _id: `${group.id}:2` as never });
    expect(stored?.rule).to.deep.equal(rules.field('team', `${team}-2`));
    expect((await db().collection('groups').findOne({ _id: group.id as never }))?.ruleVersion).to.equal(2);
  });

  it('when the rule is replaced, then a new version is stored, If-Match is honoured (412 when stale), and history carries the version', async () => {
    const team = uniq('team');
    const a = await putUser(t, hr, userBody({ fields: { team } }));
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const b = await putUser(t, hr, userBody({ fields: { team: `${team}-2` } }));
    const put = await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).set('If-Match', '"1"').send({ rule: rules.fieldIn('team', [team, `${team}-2`]) }).expect(200);
    expect(put.body).to.include({ ruleVersion: 2 });
    expect(put.headers.etag).to.equal('"2"');
    await waitForJob(t, admin, put.body.jobId as string);
    expectSorted(await memberIds(t, admin, group.id), [a, b]);

    const stale = await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).set('If-Match', '"1"').send({ rule: rules.field('team', team) }).expect(412);
    expect(stale.body).to.include({ status: 412, currentVersion: 2 });
    await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).set('If-Match', 'garbage').send({ rule: rules.field('team', team) }).expect(412);
    const bad = await t.api.put(`/api/v1/groups/${group.id}/rule`).set(admin).send({ rule: { conditions: { all: [{ fact: 'email', operator: 'nope', value: 1 }] } } }).expect(400);
    expect(bad.body.errors[0].path).to.match(/^rule\./);

    const current = await t.api.get(`/api/v1/groups/${group.id}/rule`).set(admin).expect(200);
    expect(current.body.version).to.equal(2);
    expect(current.headers.etag).to.equal('"2"');
    const versions = await t.api.get(`/api/v1/groups/${group.id}/rule/versions`).set(admin).expect(200);
    expect(versions.body.items.map((v: { version: number; current: boolean }) => [v.version, v.current])).to.deep.equal([[2, true], [1, false]]);
    expect(versions.body.items[0].actor).to.match(/^key:test admin/);

    const history = await historyOf(t, admin, group.id);
    expect(history.map((h) => [h.externalId, h.action, h.ruleVersion])).to.deep.equal([[b, 'added', 2], [a, 'added', 1]]);
    expect(history[0]!.actor).to.match(/^job:sync-group/);
  });

  it('when the stored rule cannot be evaluated, then only its group is marked failed and keeps its members; the others go on', async () => {
    const team = uniq('team');
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    const broken = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const healthy = await createGroup(t, admin, { type: 'automatic', rule: rules.field('department', 'Sales') });
    expect(await memberIds(t, admin, broken.id)).to.deep.equal([u]);
    // A rule stored before a rule-engine change made it invalid (written behind the API's back).
    await db().collection('groups').updateOne({ _id: broken.id as never }, { $set: { rule: { conditions: { all: [{ fact: 'shoeSize', operator: 'equal', value: 42 }] } }, ruleVersion: 9 } });
    await t.api.patch(`/api/v1/users/${u}`).set(hr).send({ status: 'inactive' }).expect(200);
    await t.api.patch(`/api/v1/users/${u}`).set(hr).send({ status: 'active', fields: { team, department: 'Sales' } }).expect(200);
    expect(await memberIds(t, admin, broken.id)).to.deep.equal([u]);
    expect(await memberIds(t, admin, healthy.id)).to.deep.equal([u]);
    const view = await getGroup(t, admin, broken.id);
    expect(view.sync).to.include({ state: 'failed' });
    expect(view.sync!.lastError).to.match(/cannot be evaluated/);
    expect((await getGroup(t, admin, healthy.id)).sync).to.include({ state: 'idle' });

    const job = await t.api.post(`/api/v1/groups/${broken.id}/sync`).set(admin).send({}).expect(202);
    await waitForJob(t, admin, job.body.jobId as string);
    expect(await memberIds(t, admin, broken.id)).to.deep.equal([u]);
    expect((await getGroup(t, admin, broken.id)).sync).to.include({ state: 'failed' });
  });

  it('when a membership is explained, then the rule tree shows each fact value and result, and why the user is or is not in', async () => {
    const team = uniq('team');
    const rule = { conditions: { all: [
      { fact: 'field', params: { key: 'team' }, operator: 'equal', value: team },
      { fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' },
    ] } };
    const group = await createGroup(t, admin, { type: 'automatic', rule });
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    await enrol(t, hr, 'DRV-101', u, { status: 'in_progress' });
    const no = await t.api.get(`/api/v1/groups/${group.id}/explain/${u}`).set(await t.auth('viewer')).expect(200);
    expect(no.body).to.include({ member: false, matches: false, excluded: false, pending: null });
    expect(no.body.reason).to.equal('does not match rule v1');
    expect(no.body.conditions.result).to.equal(false);
    expect(no.body.conditions.all.map((c: { factValue: unknown; result: boolean }) => [c.factValue, c.result])).to.deep.equal([[team, true], ['in_progress', false]]);

    await enrol(t, hr, 'DRV-101', u, { status: 'completed' });
    const yes = await t.api.get(`/api/v1/groups/${group.id}/explain/${u}`).set(admin).expect(200);
    expect(yes.body).to.include({ member: true, matches: true, source: 'rule', pending: null });
    expect(yes.body.reason).to.equal('added by rule v1; matches rule v1');

    await t.api.put(`/api/v1/groups/${group.id}/exclusions/${u}`).set(admin).expect(201);
    const excluded = await t.api.get(`/api/v1/groups/${group.id}/explain/${u}`).set(admin).expect(200);
    expect(excluded.body).to.include({ member: false, matches: true, excluded: true, reason: 'excluded from the group' });
    await t.api.get(`/api/v1/groups/${group.id}/explain/nobody`).set(admin).expect(404);
    const manual = await createGroup(t, admin, { type: 'manual' });
    const m = await t.api.get(`/api/v1/groups/${manual.id}/explain/${u}`).set(admin).expect(200);
    expect(m.body).to.include({ member: false, matches: false, conditions: null });
  });

  it('when a rule is previewed, then counts and samples of who would join and leave come back and nothing changes', async () => {
    const team = uniq('team');
    const stay = await putUser(t, hr, userBody({ fields: { team, department: 'Sales' } }));
    const leave = await putUser(t, hr, userBody({ fields: { team, department: 'People' } }));
    const join = await putUser(t, hr, userBody({ fields: { team: `${team}-x`, department: 'Sales' } }));
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    expectSorted(await memberIds(t, admin, group.id), [stay, leave]);
    const historyBefore = await historyOf(t, admin, group.id);

    const stored = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(admin).send({}).expect(200);
    expect(stored.body).to.deep.equal({ toAdd: 0, toRemove: 0, sampleAdd: [], sampleRemove: [], sampleAddUsers: [], sampleRemoveUsers: [] });
    const proposed = {
      conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' }, { fact: 'field', params: { key: 'team' }, operator: 'startsWith', value: team }] },
    };
    const res = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(await t.auth('viewer')).send({ rule: proposed }).expect(200);
    expect(res.body).to.deep.include({ toAdd: 1, toRemove: 1, sampleAdd: [join], sampleRemove: [leave] });
    // The samples named (issue 19): the same users, with their names.
    expect(res.body.sampleAddUsers.map((x: { externalId: string }) => x.externalId)).to.deep.equal([join]);
    expect(res.body.sampleRemoveUsers.map((x: { externalId: string }) => x.externalId)).to.deep.equal([leave]);
    const invalid = await t.api.post(`/api/v1/groups/${group.id}/preview`).set(admin).send({ rule: { conditions: { all: [{ fact: 'nope', operator: 'equal', value: 1 }] } } }).expect(400);
    expect(invalid.body.errors[0].path).to.match(/^rule\./);
    expectSorted(await memberIds(t, admin, group.id), [stay, leave]);
    expect(await historyOf(t, admin, group.id)).to.deep.equal(historyBefore);
    expect((await getGroup(t, admin, group.id)).ruleVersion).to.equal(1);
  });

  it('when a group is deleted, then its members, exclusions, versions and history go with it', async () => {
    const team = uniq('team');
    const u = await putUser(t, hr, userBody({ fields: { team } }));
    const v = await putUser(t, hr, userBody({ fields: { team } }));
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    await t.api.put(`/api/v1/groups/${group.id}/exclusions/${v}`).set(admin).expect(201);
    await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).expect(204);
    await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(404);
    await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).expect(404);
    for (const coll of ['memberships', 'exclusions', 'rule_versions', 'membership_history']) {
      expect(await db().collection(coll).countDocuments({ group: group.id }), coll).to.equal(0);
    }
    expect(u).to.be.a('string');
  });

  it('when a field is read by a rule, then the directory refuses to delete it, naming the group', async () => {
    await defineField(t, hr, 'costCentre', { label: 'Cost centre', type: 'text' });
    const name = uniq('Cost ');
    await createGroup(t, admin, { name, type: 'automatic', rule: rules.field('costCentre', 'CC1') });
    const res = await t.api.delete('/api/v1/fields/costCentre').set(hr).expect(409);
    expect(res.body.groups).to.deep.equal([name]);
  });

  it('when members are exported as CSV, then each row carries the email and names, RFC 4180 quoted (CRLF), and formula-like cells are neutralised', async () => {
    const tricky = [
      { firstName: 'Ana, María', lastName: 'O"Brien\r\nSecond line' },
      { firstName: '=HYPERLINK("http://evil.example","x")', lastName: '@SUM(1)' },
      { firstName: '-2+3', lastName: 'Lee\nBare LF' },
      { firstName: '+Plus', lastName: '"quoted"' },
    ];
    const ids: string[] = [];
    for (const names of tricky) ids.push(await putUser(t, hr, userBody(names)));
    const group = await createGroup(t, admin, { type: 'manual' });
    for (const id of ids) await t.api.put(`/api/v1/groups/${group.id}/members/${id}`).set(admin).expect(201);

    const res = await t.api.get(`/api/v1/groups/${group.id}/members.csv`).set(await t.auth('integration')).expect(200);
    expect(res.headers['content-type']).to.match(/^text\/csv/);
    expect(res.headers['content-disposition']).to.match(/^attachment; filename="grp_[0-9a-f]{16}-members\.csv"$/);
    expect(res.text.startsWith('externalId,email,firstName,lastName,source,addedAt\r\n')).to.equal(true);
    const rows = parseCsv(res.text, { columns: true }) as Array<Record<string, string>>;
    const stored = await db().collection('memberships').find({ group: group.id }).toArray();
    const addedAt = new Map(stored.map((m) => [m.externalId as string, (m.addedAt as Date).toISOString()]));
    const users = new Map((await db().collection('users').find({ _id: { $in: ids as never[] } }).toArray()).map((u) => [u._id as unknown as string, u]));
    const neutral = (v: string) => (/^[=+\-@]/.test(v) ? `'${v}` : v);
    expect(rows).to.deep.equal(
      [...ids].sort().map((id) => ({
        externalId: id,
        email: users.get(id)!.email,
        firstName: neutral(users.get(id)!.firstName as string),
        lastName: neutral(users.get(id)!.lastName as string),
        source: 'manual',
        addedAt: addedAt.get(id),
      })),
    );
    // Spelled out, so the test does not only agree with itself: commas, quotes and line breaks come back as they
    // were stored; cells a spreadsheet would evaluate come back prefixed with a quote.
    const byId = new Map(rows.map((r) => [r.externalId, r]));
    expect(byId.get(ids[0]!)).to.include({ firstName: 'Ana, María', lastName: 'O"Brien\r\nSecond line' });
    expect(byId.get(ids[1]!)).to.include({ firstName: `'=HYPERLINK("http://evil.example","x")`, lastName: "'@SUM(1)" });
    expect(byId.get(ids[2]!)).to.include({ firstName: "'-2+3", lastName: 'Lee\nBare LF' });
    expect(byId.get(ids[3]!)).to.include({ firstName: "'+Plus", lastName: '"quoted"' });
  });

  it('when a group has more members than one user batch, then the CSV lists every one in externalId order with its email', async () => {
    const team = uniq('big');
    const users = Array.from({ length: 700 }, (_, i) => userBody({ externalId: `${team}-${String(i).padStart(4, '0')}`, fields: { team } }));
    const batch = await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    expect(batch.body).to.include({ created: users.length, failed: 0 });
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(users.length);
    const res = await t.api.get(`/api/v1/groups/${group.id}/members.csv`).set(admin).expect(200);
    const rows = parseCsv(res.text, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => [r.externalId, r.email, r.source])).to.deep.equal(users.map((u) => [u.externalId, u.email, 'rule']));
  }).timeout(60_000);

  it('when the OpenAPI document is read, then the group paths are described', async () => {
    const res = await t.api.get('/openapi.json').expect(200);
    for (const p of ['/api/v1/groups', '/api/v1/groups/{id}/rule', '/api/v1/groups/{id}/preview', '/api/v1/groups/{id}/explain/{externalId}', '/api/v1/sync', '/api/v1/groups/{id}/history']) {
      expect(res.body.paths, p).to.have.property(p);
    }
    expect(res.body.components.schemas).to.have.property('Group');
  });
});
