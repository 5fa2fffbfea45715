// /docs must work over plain http from any host: no upgrade-insecure-requests, relative asset URLs, and a
// script-src strict enough to forbid inline scripts (the page needs none).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';

function directives(csp: string | undefined): Map<string, string> {
  expect(csp, 'Content-Security-Policy header').to.be.a('string');
  return new Map(
    csp!
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name!, values.join(' ')] as [string, string];
      }),
  );
}

describe('API docs page (/docs)', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('docspage');
  });
  after(async () => t.stop());

  it('when /docs/ is opened over http from another host, then no answer asks the browser to upgrade to https and every asset loads', async () => {
    const page = await t.api.get('/docs/').set('Host', 'autogroups.internal:8080').expect(200);
    const csp = directives(page.headers['content-security-policy']);
    expect([...csp.keys()]).to.not.include('upgrade-insecure-requests');
    expect(csp.get('script-src')).to.equal("'self'");
    expect(csp.get('object-src')).to.equal("'none'");

    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).to.be.greaterThan(0);
    for (const [tag, attrs, body] of scripts) {
      expect(attrs, `${tag}: script-src 'self' refuses inline scripts`).to.match(/\bsrc=/);
      expect(body!.trim(), tag).to.equal('');
    }
    const assets = [...page.text.matchAll(/\b(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]!).filter((u) => !u.startsWith('#'));
    expect(assets).to.include.members(['./swagger-ui.css', './swagger-ui-bundle.js', './swagger-ui-init.js']);
    for (const url of assets) {
      expect(url, 'a relative URL keeps the page\'s scheme and host').to.match(/^\.\//);
      const asset = await t.api.get(`/docs/${url.slice(2)}`).set('Host', 'autogroups.internal:8080').expect(200);
      expect([...directives(asset.headers['content-security-policy']).keys()], url).to.not.include('upgrade-insecure-requests');
    }
  });

  it('when the init script is read, then it embeds the served OpenAPI document', async () => {
    const init = await t.api.get('/docs/swagger-ui-init.js').expect(200);
    expect(init.headers['content-type']).to.match(/javascript/);
    const doc = (await t.api.get('/openapi.json').expect(200)).body as { info: { title: string } };
    expect(init.text).to.contain(JSON.stringify(doc.info.title));
  });
});
