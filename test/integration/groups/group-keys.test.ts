import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, historyOf, putUser, rules, userBody, defineField, type Auth } from '../membership/membership-helpers.js';

describe('Group keys: making, rotating, joining with one (POST /join), maxUses exact under concurrency', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let integration: Auth;
  before(async () => {
    t = await startTestService('group-keys');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    integration = await t.auth('integration');
  });
  after(async () => t.stop());
  const db = () => t.service.database.db;
  const newUser = (overrides: Record<string, unknown> = {}) => putUser(t, hr, userBody(overrides));
  const makeKey = async (groupId: string, body: Record<string, unknown> = {}) =>
    (await t.api.post(`/api/v1/groups/${groupId}/key`).set(admin).send(body).expect(200)).body as { key: string; maxUses?: number; uses: number };
  const join = (key: string, externalId: string, auth: Auth = integration) => t.api.post('/api/v1/join').set(auth).send({ key, externalId });

  it('when a key is made, then it has at least 80 random bits, uses 0, and only its hash is a lookup document', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const made = await makeKey(group.id, { maxUses: 5 });
    expect(made).to.include({ maxUses: 5, uses: 0 });
    // gk_ and 22 base64url characters: 128 random bits.
    expect(made.key).to.match(/^gk_[A-Za-z0-9_-]{22}$/);
    const other = await makeKey(group.id);
    expect(other.key).to.not.equal(made.key);
    expect(other.maxUses).to.equal(5, 'maxUses absent: unchanged');
    const lookups = await db().collection('group_keys').find({ group: group.id }).toArray();
    expect(lookups).to.have.length(1);
    expect(lookups[0]!._id).to.match(/^[0-9a-f]{64}$/).and.not.include(other.key);
  });

  it('when a key is rotated, then the old key is a 404 at once and the new one joins with source key and a history entry', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const old = await makeKey(group.id);
    const fresh = await makeKey(group.id);
    const user = await newUser();
    const refused = await join(old.key, user).expect(404);
    expect(refused.headers['content-type']).to.match(/application\/problem\+json/);
    const res = await join(fresh.key, user).expect(200);
    expect(res.body).to.include({ externalId: user, source: 'key' });
    const stored = await db().collection('memberships').findOne({ _id: `${group.id}:${user}` } as never);
    expect(stored).to.include({ source: 'key', externalId: user });
    const entries = await historyOf(t, admin, group.id, { externalId: user });
    expect(entries.map((e) => [e.action, e.source])).to.deep.equal([['added', 'key']]);
    const shown = await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200);
    expect(shown.body.key).to.deep.equal({ enabled: true, uses: 1, key: fresh.key });
    expect(shown.body.memberCount).to.equal(1);
  });

  it('when a member joins again, then 409; an unknown key, a disabled key or an unknown user is a 404; nothing is written', async () => {
    const group = await createGroup(t, admin, { type: 'manual', key: { enabled: true } });
    const { key } = await makeKey(group.id);
    const user = await newUser();
    await join(key, user).expect(200);
    await join(key, user).expect(409);
    await join('gk_AAAAAAAAAAAAAAAAAAAAAA', user).expect(404);
    const missing = await join(key, 'nobody-here').expect(404);
    expect(missing.body.detail).to.include('nobody-here');
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ key: { enabled: false } }).expect(200);
    const other = await newUser();
    await join(key, other).expect(404);
    expect(await db().collection('memberships').countDocuments({ group: group.id })).to.equal(1);
    expect(await db().collection('group_key_uses').countDocuments({ group: group.id })).to.equal(1);
    // Enabled again: the same key works (PATCH changes settings, not the key).
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ key: { enabled: true } }).expect(200);
    await join(key, other).expect(200);
  });

  it('when a group\'s key is removed (PATCH key: null) or the group deleted, then the key is a 404 and its documents are gone', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const { key } = await makeKey(group.id, { maxUses: 2 });
    await join(key, await newUser()).expect(200);
    await t.api.patch(`/api/v1/groups/${group.id}`).set(admin).send({ key: null }).expect(200);
    await join(key, await newUser()).expect(404);
    expect(await db().collection('group_keys').countDocuments({ group: group.id })).to.equal(0);
    const shown = await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200);
    expect(shown.body).to.not.have.property('key');
    await t.api.delete(`/api/v1/groups/${group.id}`).set(admin).expect(204);
    expect(await db().collection('group_key_uses').countDocuments({ group: group.id })).to.equal(0);
  });

  it('when an excluded user or an inactive user of an automatic group joins, then 409', async () => {
    await defineField(t, hr, 'dept', { label: 'Dept', type: 'text' });
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('dept', 'Nowhere') });
    const { key } = await makeKey(group.id);
    const excluded = await newUser();
    await t.api.put(`/api/v1/groups/${group.id}/exclusions/${excluded}`).set(admin).expect(201);
    await join(key, excluded).expect(409);
    const inactive = await newUser({ status: 'inactive' });
    await join(key, inactive).expect(409);
    expect(await db().collection('memberships').countDocuments({ group: group.id })).to.equal(0);
    expect(await db().collection('group_key_uses').countDocuments({ group: group.id })).to.equal(0);
  });

  it('when the uses run out, then 410; rotating starts the new key at 0 uses', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const { key } = await makeKey(group.id, { maxUses: 1 });
    await join(key, await newUser()).expect(200);
    const gone = await join(key, await newUser()).expect(410);
    expect(gone.body.status).to.equal(410);
    const fresh = await makeKey(group.id);
    expect(fresh).to.include({ maxUses: 1, uses: 0 });
    await join(fresh.key, await newUser()).expect(200);
  });

  it('when 50 users join at once on a key with maxUses 10, then exactly 10 become members and 40 get 410', async function () {
    this.timeout(120_000);
    const group = await createGroup(t, admin, { type: 'manual' });
    const { key } = await makeKey(group.id, { maxUses: 10 });
    const users: string[] = [];
    for (let i = 0; i < 50; i++) users.push(await newUser());
    const answers = await Promise.all(users.map((u) => join(key, u)));
    const codes = answers.map((r) => r.status);
    expect(codes.filter((c) => c === 200)).to.have.length(10);
    expect(codes.filter((c) => c === 410)).to.have.length(40);
    expect(await db().collection('memberships').countDocuments({ group: group.id, source: 'key' })).to.equal(10);
    expect(await db().collection('group_key_uses').countDocuments({ group: group.id })).to.equal(10);
    const joined = answers.filter((r) => r.status === 200).map((r) => r.body.externalId as string).sort();
    const stored = (await db().collection('memberships').find({ group: group.id }).toArray()).map((m) => m.externalId as string).sort();
    expect(stored).to.deep.equal(joined);
    const shown = await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200);
    expect(shown.body.key).to.include({ uses: 10, maxUses: 10 });
    expect(shown.body.memberCount).to.equal(10);
  });

  it('when viewer or integration read a group, then they see its key uses but not the key; integration cannot make keys', async () => {
    const group = await createGroup(t, admin, { type: 'manual', key: { enabled: true, maxUses: 3 } });
    const created = await t.api.get(`/api/v1/groups/${group.id}`).set(admin).expect(200);
    expect(created.body.key.key).to.match(/^gk_/);
    for (const role of ['viewer', 'integration'] as const) {
      const auth = await t.auth(role);
      const res = await t.api.get(`/api/v1/groups/${group.id}`).set(auth).expect(200);
      expect(res.body.key).to.deep.equal({ enabled: true, maxUses: 3, uses: 0 });
      const list = await t.api.get('/api/v1/groups').query({ limit: 200 }).set(auth).expect(200);
      for (const g of list.body.items as Array<{ key?: { key?: string } }>) expect(g.key?.key).to.equal(undefined);
    }
    const support = await t.api.get(`/api/v1/groups/${group.id}`).set(await t.auth('support')).expect(200);
    expect(support.body.key.key).to.equal(created.body.key.key);
    await t.api.post(`/api/v1/groups/${group.id}/key`).set(integration).send({}).expect(403);
    await t.api.post('/api/v1/join').set(await t.auth('viewer')).send({ key: created.body.key.key, externalId: await newUser() }).expect(403);
    const joined = await join(created.body.key.key as string, await newUser()).expect(200);
    expect(joined.body.source).to.equal('key');
  });

  it('when the join body is bad, then 400 naming every bad field and nothing is written', async () => {
    const before = await db().collection('memberships').countDocuments({});
    const res = await t.api.post('/api/v1/join').set(integration).send({ key: 5, extra: 1 }).expect(400);
    expect(await db().collection('memberships').countDocuments({})).to.equal(before);
    const paths = (res.body.errors as Array<{ path: string }>).map((e) => e.path).sort();
    expect(paths).to.deep.equal(['externalId', 'extra', 'key']);
  });
});
