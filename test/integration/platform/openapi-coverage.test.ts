// Every route the service serves is described in /openapi.json, and every described operation is served.
import { expect } from 'chai';
import type { Express } from 'express';
import { startTestService, type TestService } from '../../helpers/service.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  matchers?: unknown[];
}

/** The /api/v1 routes of the live app: routers are mounted without a path inside the /api/v1 router. */
function servedOperations(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${prefix}${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix);
      }
    }
  };
  const root = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  for (const layer of root) {
    // The one nested router at the top level is the /api/v1 one.
    if (!layer.route && layer.handle?.stack) walk(layer.handle.stack, '/api/v1');
  }
  return out;
}

describe('OpenAPI description', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('openapi');
  });
  after(async () => t.stop());

  it('when compared with the live router, then every /api/v1 operation is described and every described one is served', async () => {
    const app = t.service.server.listeners('request')[0] as Express;
    const served = servedOperations(app).filter((op) => !op.startsWith('HEAD '));
    expect(served.length).to.be.greaterThan(40);
    const doc = (await t.api.get('/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).filter((m) => m !== 'parameters' && p.startsWith('/api/v1')).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(served.filter((op) => !described.includes(op)), 'served but not described').to.deep.equal([]);
    expect(described.filter((op) => !served.includes(op)), 'described but not served').to.deep.equal([]);
  });
});
