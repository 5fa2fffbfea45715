// The console's Webhooks page in a real headless Chromium: an admin sees a subscription's state and its recent
// deliveries, sends a test event to a local receiver and reads the answer, and disables the subscription.
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { buildConsole } from '../../tools/build-console.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../integration/webhooks/receiver.js';
import { launchChromium, screenshot } from './browser.js';

describe('console: webhooks page (browser)', function () {
  this.timeout(120_000);
  let t: TestService;
  let browser: Browser;
  let page: Page;
  let receiver: Receiver;

  before(async () => {
    browser = await launchChromium();
    await buildConsole();
    t = await startTestService('consolewebhooks', { WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' });
    receiver = await startReceiver();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  });
  after(async () => {
    await browser?.close();
    await receiver?.close();
    await t?.stop();
  });

  it('when an admin opens Webhooks, then a subscription shows with its deliveries, a test event reports the answer, and it can be disabled', async () => {
    const admin = { Authorization: `Bearer ${t.adminKey}` };
    const sub = (await t.api.post('/api/v1/webhooks').set(admin).send({ url: receiver.url, events: ['membership.added'], description: 'LMS enrolments' }).expect(201)).body as { id: string };
    const group = (await t.api.post('/api/v1/groups').set(admin).send({ name: 'Hooked', type: 'manual' }).expect(201)).body as { id: string };
    await t.api.put('/api/v1/users/ana').set(admin).send({ email: 'ana@example.com', firstName: 'Ana', lastName: 'Silva', type: 'learner', status: 'active', fields: {} }).expect(201);
    await t.api.put(`/api/v1/groups/${group.id}/members/ana`).set(admin).expect((r) => expect(r.status).to.be.oneOf([200, 201]));
    await receiver.waitFor(1);

    await page.goto(`http://127.0.0.1:${(t.service.server.address() as AddressInfo).port}/console/`);
    await page.getByLabel('API key').fill(t.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    const card = page.getByTestId(`webhook-${sub.id}`);
    await card.getByRole('heading', { name: 'LMS enrolments' }).waitFor();
    expect(await card.getByTestId('webhook-state').textContent()).to.equal('active');
    await card.getByTestId(`deliveries-${sub.id}`).getByText('membership.added').waitFor();
    await card.getByRole('button', { name: 'Send a test event' }).click();
    await card.getByTestId('test-result').waitFor();
    expect(await card.getByTestId('test-result').textContent()).to.match(/^Test event delivered: answered 204 in \d+ ms$/);
    expect(JSON.parse(receiver.received.at(-1)!.body).type).to.equal('webhook.test');
    await screenshot(page, 'webhooks');
    await card.getByRole('button', { name: 'Disable' }).click();
    await page.getByTestId(`webhook-${sub.id}`).getByRole('button', { name: 'Turn back on' }).waitFor();
    expect((await t.api.get(`/api/v1/webhooks/${sub.id}`).set(admin).expect(200)).body).to.include({ state: 'disabled', stateReason: 'disabled by an admin' });
  });
});
