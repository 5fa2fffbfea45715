// Every route the service serves is described in /openapi.json, and every described operation is served.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { servedRoutes } from '../../helpers/routes.js';

describe('OpenAPI description', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('openapi');
  });
  after(async () => t.stop());

  it('when compared with the live router, then every /api/v1 operation is described and every described one is served', async () => {
    const served = servedRoutes(t).map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(served.length).to.be.greaterThan(40);
    const doc = (await t.api.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).filter((m) => m !== 'parameters' && p.startsWith('/api/v1')).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(served.filter((op) => !described.includes(op)), 'served but not described').to.deep.equal([]);
    expect(described.filter((op) => !served.includes(op)), 'described but not served').to.deep.equal([]);
  });
});
