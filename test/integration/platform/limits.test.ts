// Per-key rate limits (429 problem documents with Retry-After and RateLimit headers, counted per API key) and the
// request time bound (a request past it answers 503 and frees its connection).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

describe('rate limits and request time bound', function () {
  this.timeout(120_000);

  describe('per API key', () => {
    let t: TestService;
    before(async () => {
      t = await startTestService('ratelimit', { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_BATCHES_PER_MINUTE: '2' });
    });
    after(async () => t.stop());

    it('when a key sends more requests in a minute than its budget, then 429 problem documents with Retry-After, and other keys are not affected', async () => {
      const viewer = await t.auth('viewer');
      for (let i = 0; i < 5; i++) {
        const ok = await t.api.get('/api/v1/users').set(viewer).expect(200);
        expect(ok.headers.ratelimit, 'RateLimit header').to.be.a('string');
        expect(ok.headers['ratelimit-policy'], 'RateLimit-Policy header').to.be.a('string');
      }
      const limited = await t.api.get('/api/v1/users').set(viewer).expect(429);
      expect(limited.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(limited.body).to.include({ status: 429, title: 'Too many requests' });
      expect(Number(limited.headers['retry-after'])).to.be.within(1, 60);
      await t.api.get('/api/v1/users').set(await t.auth('support')).expect(200);
    });

    it('when a key sends more batches in a minute than the batch budget, then the extra batch is 429 and writes nothing', async () => {
      const hr = await t.auth('hr-feed');
      const user = (id: string) => ({ externalId: id, email: `${id}@example.com`, firstName: 'A', lastName: 'B', type: 'learner', status: 'active', fields: {} });
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('rl1')] }).expect(200);
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('rl2')] }).expect(200);
      const limited = await t.api.post('/api/v1/users/batch').set(hr).send({ users: [user('rl3')] }).expect(429);
      expect(limited.body.detail).to.contain('batches');
      expect(await t.service.database.db.collection('users').findOne({ _id: 'rl3' as never })).to.equal(null);
    });

    it('when sign-ins come without a key, then they are counted per client address: a wrong key is 401 until the budget, then 429', async () => {
      for (let i = 0; i < 5; i++) await t.api.post('/api/v1/session').send({ key: `agk_wrong-key-number-${i}-0123456789` }).expect(401);
      const limited = await t.api.post('/api/v1/session').send({ key: t.adminKey }).expect(429);
      expect(limited.headers['set-cookie'], 'no session cookie').to.equal(undefined);
      expect(Number(limited.headers['retry-after'])).to.be.within(1, 60);
    });

    it('when no key is sent, then 401 (authentication comes first; limits count keys)', async () => {
      await t.api.get('/api/v1/users').expect(401);
    });
  });

  describe('request time bound', () => {
    let t: TestService;
    before(async () => {
      t = await startTestService('reqtimeout', { REQUEST_TIMEOUT_MS: '300' });
    });
    after(async () => t.stop());

    it('when a request takes longer than REQUEST_TIMEOUT_MS, then it answers 503 with Retry-After at the bound, and the service keeps serving', async () => {
      const hr = await t.auth('hr-feed');
      const users = Array.from({ length: 3000 }, (_, i) => ({ externalId: `slow${i}`, email: `slow${i}@example.com`, firstName: 'A', lastName: 'B', type: 'learner', status: 'active', fields: {} }));
      const started = Date.now();
      const res = await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(503);
      const ms = Date.now() - started;
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body.detail).to.contain('did not finish within 300 ms');
      expect(Number(res.headers['retry-after'])).to.be.greaterThan(0);
      expect(ms, 'answered near the bound').to.be.below(3000);
      await t.api.get('/health').expect(200);
    });
  });
});
