import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

describe('operations endpoints', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('ops');
  });
  after(async () => t.stop());

  it('when the database and scheduler are up, then /health and /ready answer 200', async () => {
    await t.api.get('/health').expect(200, { status: 'ok' });
    const ready = await t.api.get('/ready').expect(200);
    expect(ready.body).to.deep.equal({ status: 'ready', checks: { database: 'ok', scheduler: 'ok' } });
  });

  it('then /openapi.json describes the API and /docs serves the interactive page', async () => {
    const doc = await t.api.get('/openapi.json').expect(200);
    expect(doc.body.openapi).to.match(/^3\.1/);
    expect(doc.body.paths).to.have.property('/api/v1/keys');
    expect(doc.body.paths).to.have.property('/api/v1/jobs/{jobId}');
    const page = await t.api.get('/docs/').expect(200);
    expect(page.text).to.contain('swagger-ui');
  });

  it('then /metrics exposes request latency in Prometheus text', async () => {
    await t.api.get('/health');
    const res = await t.api.get('/metrics').expect(200);
    expect(res.headers['content-type']).to.match(/^text\/plain/);
    expect(res.text).to.contain('autogroups_http_request_duration_seconds_bucket');
    await t.api.get('/api/v1/keys').set(await t.auth());
    const after = await t.api.get('/metrics').expect(200);
    expect(after.text).to.match(/autogroups_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/keys",status="200"\} 1/);
  });

  it('when a route does not exist, then the answer is a 404 problem document', async () => {
    const res = await t.api.get('/no/such/thing').expect(404);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.body).to.include({ status: 404, title: 'Not found' });
    expect(res.body.type).to.be.a('string');
    expect(res.body.detail).to.contain('/no/such/thing');
  });

  it('when the caller sends a request id, then it is echoed back; otherwise one is made', async () => {
    const given = await t.api.get('/health').set('X-Request-Id', 'abc-123').expect(200);
    expect(given.headers['x-request-id']).to.equal('abc-123');
    const made = await t.api.get('/health').expect(200);
    expect(made.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('then security headers are set', async () => {
    const res = await t.api.get('/health');
    expect(res.headers).to.have.property('x-content-type-options', 'nosniff');
    expect(res.headers).to.not.have.property('x-powered-by');
  });
});
