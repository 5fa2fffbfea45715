// The job dashboard (issue 13): Agendash mounted at /dashboard for admins only. An admin session or admin key
// sees its page and its job API; every other role is refused with a 403 problem document, no credentials with a
// 401; a state-changing call made with a session must come from the service's own pages (fetch metadata), since
// Agendash's front end sends no CSRF header.
import { expect } from 'chai';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { startTestService, type TestService } from '../../helpers/service.js';

const COOKIE = 'autogroups_session';

describe('Job dashboard at /dashboard', () => {
  let t: TestService;
  const http = () => supertest(t.service.server);

  before(async () => {
    t = await startTestService('dashboard');
  });
  after(async () => t.stop());

  const newKey = async (role: string) =>
    (await http().post('/api/v1/keys').set(await t.auth()).send({ name: `dashboard ${role}`, role }).expect(201)).body as { key: string };
  const signIn = async (key: string): Promise<string> => {
    const res = await http().post('/api/v1/session').send({ key }).expect(201);
    const line = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${COOKIE}=`));
    return line!.split(';')[0]!;
  };

  it('when an admin signs in, then the dashboard page, its assets and its job list are served', async () => {
    const cookie = await signIn((await newKey('admin')).key);
    await http().get('/dashboard').set('Cookie', cookie).expect(301).expect('Location', '/dashboard/');
    const page = await http().get('/dashboard/').set('Cookie', cookie).expect(200).expect('Content-Type', /html/);
    expect(page.text).to.contain('<div id="app">');
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(asset, 'the page loads its script from ./assets').to.be.a('string');
    await http().get(`/dashboard/${asset}`).set('Cookie', cookie).expect(200).expect('Content-Type', /javascript/);

    // A job the service ran shows in Agendash's own API.
    const admin = await t.auth();
    await http().post('/api/v1/sync').set(admin).send({}).expect(202);
    const jobs = await http().get('/dashboard/api').set('Cookie', cookie).expect(200);
    expect(jobs.body).to.have.property('jobs').that.is.an('array');
    expect(JSON.stringify(jobs.body)).to.contain('sync-all');
  });

  it('when an admin key is sent as a bearer, then the dashboard API answers', async () => {
    await http().get('/dashboard/api').set(await t.auth()).expect(200);
  });

  for (const role of ['support', 'viewer', 'hr-feed', 'integration']) {
    it(`when a ${role} session or key asks, then it is a 403 problem document`, async () => {
      const { key } = await newKey(role);
      const cookie = await signIn(key);
      for (const res of [
        await http().get('/dashboard/').set('Cookie', cookie),
        await http().get('/dashboard/api').set('Authorization', `Bearer ${key}`),
      ]) {
        expect(res.status).to.equal(403);
        expect(res.headers['content-type']).to.match(/application\/problem\+json/);
        expect(res.body.detail).to.contain(role);
      }
    });
  }

  it('when nobody signed in, then it is a 401 and nothing of the dashboard is served', async () => {
    const res = await http().get('/dashboard/').expect(401);
    expect(res.headers['content-type']).to.match(/application\/problem\+json/);
    expect(res.text).not.to.contain('<div id="app">');
  });

  it('when a state-changing call comes with an admin session, then it must carry same-origin fetch metadata', async () => {
    const cookie = await signIn((await newKey('admin')).key);
    const body = { jobIds: [] };
    const crossSite = await http().post('/dashboard/api/jobs/delete').set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site').send(body);
    expect(crossSite.status).to.equal(403);
    const noMetadata = await http().post('/dashboard/api/jobs/delete').set('Cookie', cookie).send(body);
    expect(noMetadata.status).to.equal(403);
    const otherOrigin = await http().post('/dashboard/api/jobs/delete').set('Cookie', cookie)
      .set('Sec-Fetch-Site', 'same-origin').set('Origin', 'https://evil.example').send(body);
    expect(otherOrigin.status).to.equal(403);
    const ownPage = await http().post('/dashboard/api/jobs/delete').set('Cookie', cookie).set('Sec-Fetch-Site', 'same-origin').send(body);
    expect(ownPage.status).to.be.below(400);
  });
});

describe('Job dashboard live events (/dashboard/api/events)', () => {
  it('when an admin opens the stream, then it is an event stream that says connected and relays a job of this process; a stop of the service ends it at once', async () => {
    const t = await startTestService('dashboard-events');
    let stopped = false;
    try {
      const { port } = t.service.server.address() as AddressInfo;
      const chunks: string[] = [];
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/dashboard/api/events', headers: { Authorization: `Bearer ${t.adminKey}` } }, resolve).on('error', reject);
      });
      expect(response.statusCode).to.equal(200);
      expect(response.headers['content-type']).to.match(/^text\/event-stream/);
      response.setEncoding('utf8');
      response.on('data', (c: string) => chunks.push(c));
      const ended = new Promise<void>((resolve) => response.on('close', () => resolve()));
      const seen = async (text: string) => {
        for (let i = 0; i < 100 && !chunks.join('').includes(text); i++) await new Promise((r) => setTimeout(r, 100));
        expect(chunks.join('')).to.contain(text);
      };
      await seen('event: connected');
      await t.api.post('/api/v1/sync').set(await t.auth()).send({}).expect(202);
      await seen('"type":"complete"');
      const started = Date.now();
      await t.stop();
      stopped = true;
      await ended;
      expect(Date.now() - started, 'the open stream did not hold the stop until its timeout').to.be.below(5000);
    } finally {
      if (!stopped) await t.stop();
    }
  });
});
