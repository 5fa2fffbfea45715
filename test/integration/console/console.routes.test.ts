// GET /console: the built page and bundle, served under the service's CSP with no inline script; a service
// whose console was not built says how to build it instead of a bare 404.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import supertest from 'supertest';
import { buildConsole } from '../../../tools/build-console.js';
import { consoleRoutes } from '../../../src/console/console.routes.js';
import { errorHandler } from '../../../src/platform/errors.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startTestService, type TestService } from '../../helpers/service.js';

describe('GET /console', function () {
  this.timeout(60_000);
  let t: TestService;

  before(async () => {
    await buildConsole();
    t = await startTestService('console-routes');
  });
  after(async () => {
    await t?.stop();
  });

  it('when /console is asked for, then it redirects to the page, which loads its script and stylesheet from this origin only', async () => {
    const redirect = await t.api.get('/console');
    expect(redirect.status).to.equal(301);
    expect(redirect.headers.location).to.equal('/console/');
    const page = await t.api.get('/console/');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.headers['content-security-policy']).to.match(/script-src 'self'(;|$)/);
    // No inline script: every <script> names a file (the CSP would block anything else).
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).to.have.length(1);
    for (const [, attrs, body] of scripts) {
      expect(attrs).to.match(/src="\/console\/app\.js"/);
      expect(body!.trim()).to.equal('');
    }
    const js = await t.api.get('/console/app.js');
    expect(js.status).to.equal(200);
    expect(js.headers['content-type']).to.match(/javascript/);
    const css = await t.api.get('/console/app.css');
    expect(css.status).to.equal(200);
    expect(css.headers['content-type']).to.match(/^text\/css/);
  });

  it('when the console was not built, then /console answers 503 naming the build command', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'console-unbuilt-'));
    try {
      const app = express();
      app.use('/console', consoleRoutes(empty));
      app.use(errorHandler(createLogger('silent')));
      const res = await supertest(app).get('/console/');
      expect(res.status).to.equal(503);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body.detail).to.contain('npm run console:build');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
