import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { startTestService, type TestService } from '../../helpers/service.js';
import { ROLES } from '../../../src/platform/roles.js';

describe('API keys and roles', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('keys');
  });
  after(async () => t.stop());

  it('when no key is sent, then every /api/v1 call is 401 with a problem document', async () => {
    const res = await t.api.get('/api/v1/keys').expect(401);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.body).to.include({ status: 401, title: 'Unauthorized' });
  });

  it('when the key is unknown or malformed, then 401', async () => {
    await t.api.get('/api/v1/keys').set('Authorization', 'Bearer agk_not_a_real_key').expect(401);
    await t.api.get('/api/v1/keys').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
    await t.api.get('/api/v1/keys').set('Authorization', 'Bearer').expect(401);
  });

  it('when a call is 401, then it carries a Bearer challenge: invalid_token for an unknown key, none when no token was sent', async () => {
    const challenge = 'Bearer realm="autogroups"';
    for (const path of ['/api/v1/keys', '/api/v1/groups', '/api/v1/users/u1', '/api/v1/no-such-route']) {
      expect((await t.api.get(path).expect(401)).headers['www-authenticate'], path).to.equal(challenge);
    }
    expect((await t.api.post('/api/v1/groups').send({}).expect(401)).headers['www-authenticate']).to.equal(challenge);
    expect((await t.api.get('/api/v1/keys').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401)).headers['www-authenticate']).to.equal(challenge);
    const unknown = await t.api.get('/api/v1/keys').set('Authorization', 'Bearer agk_not_a_real_key').expect(401);
    expect(unknown.headers['www-authenticate']).to.equal(`${challenge}, error="invalid_token"`);
    // A 403 is not a challenge: the key is known.
    expect((await t.api.get('/api/v1/keys').set(await t.auth('viewer')).expect(403)).headers).to.not.have.property('www-authenticate');
  });

  it('when a key of each role lists keys, then only admin gets 200 and the others 403', async () => {
    for (const role of ROLES) {
      const res = await t.api.get('/api/v1/keys').set(await t.auth(role));
      expect(res.status, role).to.equal(role === 'admin' ? 200 : 403);
      if (role !== 'admin') expect(res.body.detail, role).to.contain('keys:read');
    }
  });

  it('when an admin creates a key, then it is shown once and stored only as its hash', async () => {
    const res = await t.api.post('/api/v1/keys').set(await t.auth()).send({ name: 'lms sync', role: 'integration' }).expect(201);
    expect(res.body).to.include({ name: 'lms sync', role: 'integration' });
    expect(res.body.key).to.match(/^agk_[A-Za-z0-9_-]{43}$/);
    expect(res.body.id).to.match(/^key_[0-9a-f]{16}$/);

    const stored = await t.service.database.db.collection('apikeys').find({ name: 'lms sync' }).toArray();
    expect(stored).to.have.length(1);
    expect(JSON.stringify(stored[0])).to.not.contain(res.body.key);
    expect(stored[0]!._id).to.equal(createHash('sha256').update(res.body.key).digest('hex'));

    const listed = await t.api.get('/api/v1/keys').set(await t.auth()).expect(200);
    const item = listed.body.items.find((k: { id: string }) => k.id === res.body.id);
    expect(item).to.include({ name: 'lms sync', role: 'integration' });
    expect(item).to.not.have.property('key');

    // The new key works, with its role's permissions.
    await t.api.get('/api/v1/keys').set('Authorization', `Bearer ${res.body.key}`).expect(403);
  });

  it('when a key is revoked, then it stops working at once', async () => {
    const created = await t.api.post('/api/v1/keys').set(await t.auth()).send({ name: 'temp', role: 'admin' }).expect(201);
    const bearer = { Authorization: `Bearer ${created.body.key}` };
    await t.api.get('/api/v1/keys').set(bearer).expect(200);
    await t.api.delete(`/api/v1/keys/${created.body.id}`).set(await t.auth()).expect(204);
    await t.api.get('/api/v1/keys').set(bearer).expect(401);
    await t.api.get(`/api/v1/keys/${created.body.id}`).set(await t.auth()).expect(404);
    await t.api.delete(`/api/v1/keys/${created.body.id}`).set(await t.auth()).expect(404);
  });

  it('when the body is bad, then 400 names every bad field and nothing is created', async () => {
    const before = await t.service.database.db.collection('apikeys').countDocuments();
    const res = await t.api.post('/api/v1/keys').set(await t.auth()).send({ name: '', role: 'superuser', extra: 1 }).expect(400);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).to.have.members(['name', 'role', 'extra']);
    const dollar = await t.api.post('/api/v1/keys').set(await t.auth()).send({ name: 'x', role: 'viewer', $where: '1' }).expect(400);
    expect(dollar.body.errors[0].path).to.equal('$where');
    const malformed = await t.api.post('/api/v1/keys').set(await t.auth()).set('Content-Type', 'application/json').send('{"name": "x",').expect(400);
    expect(malformed.body.errors[0].path).to.equal('body');
    await t.api.post('/api/v1/keys').set(await t.auth()).set('Content-Type', 'text/plain').send('name=x').expect(415);
    expect(await t.service.database.db.collection('apikeys').countDocuments()).to.equal(before);
  });

  it('when the key id is not of the issued form, then 400 names it', async () => {
    const res = await t.api.delete('/api/v1/keys/../../x').set(await t.auth());
    expect(res.status).to.be.oneOf([400, 404]);
    const bad = await t.api.get('/api/v1/keys/nope').set(await t.auth()).expect(400);
    expect(bad.body.errors[0].path).to.equal('id');
  });

  it('when the last admin key would be revoked, then 409 and it stays', async () => {
    const db = t.service.database.db.collection('apikeys');
    const admins = await db.find({ role: 'admin' }).toArray();
    // Revoke every admin key but the test's own, then try to revoke that one too.
    const own = admins.find((k) => k.name === 'test admin')!;
    for (const k of admins.filter((a) => a._id !== own._id)) {
      await t.api.delete(`/api/v1/keys/${k.id as string}`).set(await t.auth()).expect(204);
    }
    await t.api.delete(`/api/v1/keys/${own.id as string}`).set(await t.auth()).expect(409);
    await t.api.get('/api/v1/keys').set(await t.auth()).expect(200);
  });

  it('when listing with a small limit, then pages follow the cursor to the end', async () => {
    for (let i = 0; i < 3; i++) await t.api.post('/api/v1/keys').set(await t.auth()).send({ name: `page ${i}`, role: 'viewer' }).expect(201);
    const total = await t.service.database.db.collection('apikeys').countDocuments();
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await t.api
        .get('/api/v1/keys')
        .query(cursor ? { limit: 2, cursor } : { limit: 2 })
        .set(await t.auth())
        .expect(200);
      expect(res.body.items.length).to.be.at.most(2);
      for (const k of res.body.items) seen.add(k.id);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.size).to.equal(total);
    await t.api.get('/api/v1/keys').query({ limit: 5000 }).set(await t.auth()).expect(400);
    await t.api.get('/api/v1/keys').query({ cursor: 'garbage' }).set(await t.auth()).expect(400);
  });
});
