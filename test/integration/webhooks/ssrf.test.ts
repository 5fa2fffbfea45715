// A service without WEBHOOKS_ALLOW_PRIVATE_TARGETS refuses webhook URLs that would reach inside its network: a 400
// naming `url`, nothing stored, for IPv4, IPv6 and DNS names resolving to such addresses, and for http:.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

describe('Webhooks: refused targets (SSRF) at creation', () => {
  let t: TestService;

  before(async () => {
    t = await startTestService('webhookssrf', { ROLE: 'api' });
  });
  after(async () => t.stop());

  it('when a URL is http:, or names or resolves to a loopback, private, link-local or metadata address, then it is a 400 naming url and nothing is stored', async () => {
    const refused = [
      'http://93.184.215.14/hooks',
      'https://127.0.0.1/hooks',
      'https://10.0.0.7/hooks',
      'https://192.168.1.20:8443/hooks',
      'https://169.254.169.254/latest/meta-data/',
      'https://100.100.100.200/latest/meta-data/',
      'https://[::1]/hooks',
      'https://[fd00:ec2::254]/hooks',
      'https://[fe80::1]/hooks',
      'https://[::ffff:127.0.0.1]/hooks',
      'https://localhost/hooks',
      'https://0x7f000001/hooks',
    ];
    const auth = await t.auth('admin');
    for (const url of refused) {
      const res = await t.api.post('/api/v1/webhooks').set(auth).send({ url, events: ['membership.added'] });
      expect(res.status, url).to.equal(400);
      expect(res.body.errors.map((e: { path: string }) => e.path), url).to.deep.equal(['url']);
    }
    const patched = await t.api.post('/api/v1/webhooks').set(auth).send({ url: 'https://93.184.215.14/hooks', events: ['membership.added'] }).expect(201);
    const change = await t.api.patch(`/api/v1/webhooks/${patched.body.id as string}`).set(auth).send({ url: 'https://[::1]/x' }).expect(400);
    expect(change.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['url']);
    const stored = await t.service.database.db.collection('webhooks').find({}).toArray();
    expect(stored.map((w) => w.url)).to.deep.equal(['https://93.184.215.14/hooks']);
  });
});
