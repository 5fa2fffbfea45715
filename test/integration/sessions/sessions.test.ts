// Browser sessions (issue 13): POST /session exchanges an API key for a signed, expiring, HttpOnly,
// SameSite=Strict cookie; calls made with it act with the key's role and no more; revoking the key ends it; an
// expired or tampered cookie is a 401; state-changing calls made with it need the session's X-CSRF-Token and a
// same-origin Sec-Fetch-Site; DELETE signs out. Requests go through plain supertest (not the shared agent), so
// that no cookie is kept between calls unless a test sends it.
import { expect } from 'chai';
import supertest from 'supertest';
import type { Db } from 'mongodb';
import { startTestService, testDatabaseUri, type TestService } from '../../helpers/service.js';
import { spawnService, type ChildService } from '../../helpers/child-service.js';
import { signSession } from '../../../src/sessions/session-token.js';

const COOKIE = 'autogroups_session';

interface Opened {
  cookie: string;
  /** The Set-Cookie line as sent. */
  setCookie: string;
  csrf: string;
  body: Record<string, unknown>;
}

/** The attributes of a Set-Cookie line, lower-cased names. */
function attributes(line: string): Map<string, string> {
  const [, ...parts] = line.split(';');
  return new Map(parts.map((p) => {
    const [k, ...v] = p.trim().split('=');
    return [k!.toLowerCase(), v.join('=')];
  }));
}

describe('Sessions', () => {
  let t: TestService;
  let db: Db;
  let http: () => supertest.SuperTest<supertest.Test>;

  before(async () => {
    t = await startTestService('sessions');
    db = t.service.database.db;
    http = () => supertest(t.service.server) as unknown as supertest.SuperTest<supertest.Test>;
  });
  after(async () => t.stop());

  const signIn = async (key: string): Promise<Opened> => {
    const res = await http().post('/api/v1/session').send({ key }).expect(201);
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${COOKIE}=`));
    expect(setCookie, 'a session cookie is set').to.be.a('string');
    return { cookie: setCookie!.split(';')[0]!, setCookie: setCookie!, csrf: res.body.csrfToken as string, body: res.body };
  };
  const newKey = async (role: string, name = `session ${role}`) =>
    (await http().post('/api/v1/keys').set(await t.auth()).send({ name, role }).expect(201)).body as { id: string; key: string };
  const sameOrigin = (s: Opened) => ({ Cookie: s.cookie, 'X-CSRF-Token': s.csrf, 'Sec-Fetch-Site': 'same-origin' });
  const aRequest = (title: string) => ({ title, description: 'From the console', requestedBy: 'jane@example.com' });

  it('when a key signs in, then the cookie is HttpOnly, SameSite=Strict, Path=/, expires with the session, and only the session is stored', async () => {
    const key = await newKey('support');
    const before = Date.now();
    const s = await signIn(key.key);
    expect(s.body).to.include({ keyId: key.id, name: 'session support', role: 'support' });
    expect(s.body.csrfToken).to.be.a('string').with.length.greaterThan(20);
    const attrs = attributes(s.setCookie);
    expect(attrs.has('httponly')).to.equal(true);
    expect(attrs.get('samesite')).to.equal('Strict');
    expect(attrs.get('path')).to.equal('/');
    expect(attrs.get('max-age')).to.equal(String(8 * 3600));
    expect(Date.parse(attrs.get('expires')!)).to.be.within(before + 8 * 3600_000 - 2000, Date.now() + 8 * 3600_000 + 1000);
    expect(attrs.has('secure'), 'not Secure over plain HTTP (SESSION_COOKIE_SECURE=auto)').to.equal(false);
    expect(Date.parse(s.body.expiresAt as string)).to.be.within(before + 8 * 3600_000 - 1000, Date.now() + 8 * 3600_000 + 1000);
    expect(s.cookie).to.not.contain(key.key);

    const records = await db.collection('sessions').find({ keyId: key.id }).toArray();
    expect(records).to.have.length(1);
    expect(records[0]).to.include({ role: 'support' });
    expect(JSON.stringify(records[0])).to.not.contain(key.key);
    // No secret was configured: one was generated and kept for every process on this database.
    expect(await db.collection('settings').countDocuments({ _id: 'session-secret' as never })).to.equal(1);
  });

  it('when the key is wrong or missing, then 401 (with the Bearer challenge) or 400, and no cookie', async () => {
    const wrong = await http().post('/api/v1/session').send({ key: 'agk_not_a_real_key' }).expect(401);
    expect(wrong.headers['www-authenticate']).to.match(/^Bearer realm="autogroups"/);
    expect(wrong.headers['set-cookie']).to.equal(undefined);
    const missing = await http().post('/api/v1/session').send({ key: '', extra: 1 }).expect(400);
    expect(missing.body.errors.map((e: { path: string }) => e.path)).to.have.members(['key', 'extra']);
    // A form post (another site's page) is not JSON: refused before any key is looked at.
    await http().post('/api/v1/session').type('form').send('key=x').expect(415);
  });

  it('when a call is made with the session, then it acts with the key\'s role and not beyond', async () => {
    const key = await newKey('viewer');
    const s = await signIn(key.key);
    await http().get('/api/v1/groups').set('Cookie', s.cookie).expect(200);
    await http().get('/api/v1/requests').set('Cookie', s.cookie).expect(200);
    const keys = await http().get('/api/v1/keys').set('Cookie', s.cookie).expect(403);
    expect(keys.body.detail).to.contain('viewer');
    const write = await http().post('/api/v1/requests').set(sameOrigin(s)).send(aRequest('viewer via session')).expect(403);
    expect(write.body.detail).to.contain('requests:write');
    expect(await db.collection('support_requests').countDocuments({ title: 'viewer via session' })).to.equal(0);
    const me = await http().get('/api/v1/session').set('Cookie', s.cookie).expect(200);
    expect(me.body).to.include({ keyId: key.id, role: 'viewer', csrfToken: s.csrf });
    await http().get('/api/v1/session').set(await t.auth()).expect(404);
  });

  it('when a state-changing call with the cookie comes from this service\'s page, then it works; cross-site or without the token, then 403 and nothing is written', async () => {
    const key = await newKey('support', 'console support');
    const s = await signIn(key.key);
    const ok = await http().post('/api/v1/requests').set(sameOrigin(s)).send(aRequest('from the console')).expect(201);
    expect(ok.body.createdBy).to.equal(`key:console support (${key.id})`);
    // A browser that sends no Sec-Fetch-Site (an older one) is held to the token alone.
    await http().post('/api/v1/requests').set({ Cookie: s.cookie, 'X-CSRF-Token': s.csrf }).send(aRequest('older browser')).expect(201);

    const refused = [
      { name: 'cross-site', headers: { ...sameOrigin(s), 'Sec-Fetch-Site': 'cross-site' } },
      { name: 'same-site (a sibling subdomain)', headers: { ...sameOrigin(s), 'Sec-Fetch-Site': 'same-site' } },
      { name: 'no token', headers: { Cookie: s.cookie, 'Sec-Fetch-Site': 'same-origin' } },
      { name: 'a wrong token', headers: { ...sameOrigin(s), 'X-CSRF-Token': 'x'.repeat(43) } },
    ];
    for (const { name, headers } of refused) {
      const res = await http().post('/api/v1/requests').set(headers).send(aRequest(`forged: ${name}`));
      expect(res.status, name).to.equal(403);
      expect(res.headers['content-type'], name).to.match(/^application\/problem\+json/);
    }
    const patched = await http().patch(`/api/v1/requests/${ok.body.id}`).set({ Cookie: s.cookie, 'Sec-Fetch-Site': 'cross-site' }).send({ status: 'rejected' }).expect(403);
    expect(patched.body.detail).to.contain('Sec-Fetch-Site');
    expect(await db.collection('support_requests').countDocuments({ title: /^forged/ })).to.equal(0);
    expect(await db.collection('support_requests').findOne({ _id: ok.body.id })).to.include({ status: 'open' });
    // Reads need no token: a cross-site page cannot read the answer anyway.
    await http().get('/api/v1/requests').set('Cookie', s.cookie).expect(200);
    // A bearer key is not a cookie a browser sends by itself: no token asked.
    await http().post('/api/v1/requests').set(await t.auth('support')).send(aRequest('by bearer')).expect(201);
  });

  it('when a sign-in comes from another site\'s page, then 403', async () => {
    const key = await newKey('support', 'login csrf');
    await http().post('/api/v1/session').set('Sec-Fetch-Site', 'cross-site').send({ key: key.key }).expect(403);
    expect(await db.collection('sessions').countDocuments({ keyId: key.id })).to.equal(0);
  });

  it('when the key is revoked, then its session is a 401 at once and its records are gone', async () => {
    const key = await newKey('admin', 'soon revoked');
    const s = await signIn(key.key);
    await http().get('/api/v1/keys').set('Cookie', s.cookie).expect(200);
    await http().delete(`/api/v1/keys/${key.id}`).set(await t.auth()).expect(204);
    const res = await http().get('/api/v1/keys').set('Cookie', s.cookie).expect(401);
    expect(res.headers['www-authenticate']).to.match(/^Bearer realm="autogroups"/);
    const cleared = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${COOKIE}=`));
    expect(cleared, 'the dead cookie is cleared').to.match(/Expires=Thu, 01 Jan 1970/);
    expect(await db.collection('sessions').countDocuments({ keyId: key.id })).to.equal(0);
  });

  it('when a session record outlives a revoked key that is made again with the same secret, then the old session stays dead', async () => {
    const key = await newKey('support', 'remade');
    const s = await signIn(key.key);
    const record = await db.collection('sessions').findOne({ keyId: key.id });
    await http().delete(`/api/v1/keys/${key.id}`).set(await t.auth()).expect(204);
    // The key comes back (as BOOTSTRAP_ADMIN_KEY would make it again), and the old record with it.
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(key.key).digest('hex');
    await db.collection('apikeys').insertOne({ _id: hash as never, id: key.id, name: 'remade', role: 'support', prefix: key.key.slice(0, 8), createdAt: new Date(Date.now() + 1000), updatedAt: new Date() });
    await db.collection('sessions').insertOne(record!);
    await http().get('/api/v1/groups').set('Cookie', s.cookie).expect(401);
    await http().get('/api/v1/groups').set('Authorization', `Bearer ${key.key}`).expect(200);
  });

  it('when the cookie is tampered with or expired, then 401', async () => {
    const key = await newKey('viewer', 'tamper');
    const s = await signIn(key.key);
    const value = s.cookie.slice(COOKIE.length + 1);
    const [version, claims, signature] = value.split('.') as [string, string, string];
    const raised = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims, 'base64url').toString()), r: 'admin' })).toString('base64url');
    for (const forged of [`${version}.${raised}.${signature}`, `${version}.${claims}.${signature.slice(0, -2)}AA`, 'garbage', `${version}.${claims}`]) {
      const res = await http().get('/api/v1/groups').set('Cookie', `${COOKIE}=${forged}`);
      expect(res.status, forged).to.equal(401);
      expect(res.headers['www-authenticate']).to.equal('Bearer realm="autogroups"');
    }
    // Signed with the right secret but past its expiry.
    const secret = Buffer.from(((await db.collection('settings').findOne({ _id: 'session-secret' as never })) as unknown as { value: string }).value, 'base64url');
    const record = await db.collection('sessions').findOne({ keyId: key.id });
    const expired = signSession({ sessionId: record!._id as unknown as string, keyId: key.id, role: 'viewer', expiresAt: Date.now() - 1000 }, secret);
    await http().get('/api/v1/groups').set('Cookie', `${COOKIE}=${expired}`).expect(401);
    // The same cookie signed to last longer than its server-side record: the record's expiry holds.
    const longer = signSession({ sessionId: record!._id as unknown as string, keyId: key.id, role: 'viewer', expiresAt: Date.now() + 86400_000 }, secret);
    await http().get('/api/v1/groups').set('Cookie', `${COOKIE}=${longer}`).expect(200);
    await db.collection('sessions').updateOne({ _id: record!._id }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    await http().get('/api/v1/groups').set('Cookie', `${COOKIE}=${longer}`).expect(401);
    await http().get('/api/v1/groups').set('Cookie', s.cookie).expect(401);
  });

  it('when an Authorization header comes with a good cookie, then the header decides', async () => {
    const s = await signIn(await t.keyFor('support'));
    await http().get('/api/v1/groups').set('Cookie', s.cookie).set('Authorization', 'Bearer agk_not_a_real_key').expect(401);
    await http().get('/api/v1/keys').set('Cookie', s.cookie).set(await t.auth('admin')).expect(200);
  });

  it('when signing out, then the cookie is cleared, the record deleted and the cookie no longer works; without the token a live session stays', async () => {
    const key = await newKey('support', 'signs out');
    const s = await signIn(key.key);
    await http().delete('/api/v1/session').set({ Cookie: s.cookie, 'Sec-Fetch-Site': 'cross-site' }).expect(403);
    await http().delete('/api/v1/session').set({ Cookie: s.cookie }).expect(403);
    await http().get('/api/v1/groups').set('Cookie', s.cookie).expect(200);

    const res = await http().delete('/api/v1/session').set(sameOrigin(s)).expect(204);
    const cleared = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${COOKIE}=`));
    expect(cleared).to.match(/Expires=Thu, 01 Jan 1970/).and.match(/Path=\//);
    expect(await db.collection('sessions').countDocuments({ keyId: key.id })).to.equal(0);
    await http().get('/api/v1/groups').set('Cookie', s.cookie).expect(401);
    // Signing out again, or with no session at all, is still a sign-out.
    await http().delete('/api/v1/session').set('Cookie', s.cookie).expect(204);
    await http().delete('/api/v1/session').expect(204);
    // The key itself is untouched.
    await http().get('/api/v1/groups').set('Authorization', `Bearer ${key.key}`).expect(200);
  });

  describe('with another process on the same database', () => {
    let child: ChildService | undefined;
    after(async () => {
      child?.child.kill('SIGTERM');
      if (child) await child.exited;
    });

    it('when a session opened on one process is used on another, then it is accepted there (they share the stored secret)', async function () {
      this.timeout(120_000); // a process of its own starts
      const s = await signIn(await t.keyFor('support'));
      child = await spawnService({ MONGODB_URI: testDatabaseUri(), MONGODB_DB: db.databaseName, ROLE: 'api' });
      const other = supertest(`http://127.0.0.1:${child.port}`);
      const res = await other.get('/api/v1/session').set('Cookie', s.cookie).expect(200);
      expect(res.body).to.include({ role: 'support', csrfToken: s.csrf });
      await other.post('/api/v1/requests').set(sameOrigin(s)).send(aRequest('via the other process')).expect(201);
    });
  });
});
