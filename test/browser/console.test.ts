// The admin console in a real headless Chromium against the real service and database: sign in, build a rule
// with live preview, save, members, explain, a 412 from a concurrent edit, a request worked to done, a viewer.
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole } from '../../tools/build-console.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { launchChromium, screenshot } from './browser.js';

const UI_TIMEOUT = 15_000;

describe('admin console (browser)', function () {
  this.timeout(120_000);
  let t: TestService;
  let browser: Browser;
  let base: string;
  let context: BrowserContext;
  let page: Page;

  const admin = async () => ({ Authorization: `Bearer ${t.adminKey}` });

  async function put(path: string, body: unknown) {
    const res = await t.api.put(`/api/v1${path}`).set(await admin()).send(body as object);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).to.be.oneOf([200, 201]);
    return res.body;
  }

  async function createGroup(name: string, rule: unknown, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await t.api.post('/api/v1/groups').set(await admin()).send({ name, type: 'automatic', rule, ...extra });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id as string;
  }

  async function signIn(key: string) {
    await page.goto(`${base}/console/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('role').waitFor();
  }

  async function waitFor(check: () => Promise<boolean>) {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the condition never held');
  }

  async function waitForSync(groupId: string) {
    for (let i = 0; i < 100; i++) {
      const g = await t.api.get(`/api/v1/groups/${groupId}`).set(await admin());
      if (g.body.sync?.state === 'idle' && g.body.sync.lastSyncAt) return g.body;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the group did not sync');
  }

  before(async () => {
    // Fail (not skip) first when there is no browser, before the service starts.
    browser = await launchChromium();
    await buildConsole();
    // No group is too small for the removal safety valve here, so a test can see removals held and confirm them.
    t = await startTestService('console', { REMOVAL_SAFETY_MIN_MEMBERS: '0' });
    base = `http://127.0.0.1:${(t.service.server.address() as AddressInfo).port}`;
    await put('/fields/department', { label: 'Department', type: 'select', options: ['Sales', 'Support', 'Engineering'] });
    await put('/courses/DRV-101', { title: 'Safe driving' });
    const people: Array<[string, string, 'staff' | 'learner', string]> = [
      ['ana', 'Ana', 'staff', 'Sales'],
      ['ben', 'Ben', 'staff', 'Sales'],
      ['cleo', 'Cleo', 'learner', 'Sales'],
      ['dan', 'Dan', 'staff', 'Support'],
      ['eve', 'Eve', 'learner', 'Engineering'],
    ];
    for (const [id, first, type, department] of people) {
      await put(`/users/${id}`, { email: `${id}@example.com`, firstName: first, lastName: 'Tester', type, status: 'active', fields: { department } });
    }
    await put('/courses/DRV-101/enrollments/ana', { status: 'completed' });
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT);
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
  });

  it('when an admin signs in with an API key, then the groups page shows with the role, and signing out returns to the sign-in page', async () => {
    await page.goto(`${base}/console/`);
    await page.getByLabel('API key').waitFor();
    await screenshot(page, 'sign-in');
    await signIn(t.adminKey);
    expect(await page.getByTestId('role').textContent()).to.equal('admin');
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await page.getByRole('link', { name: 'Dashboard' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    // The cookie is gone: a reload stays on the sign-in page.
    await page.reload();
    await page.getByLabel('API key').waitFor();
  });

  it('when a rule of two conditions is built, then the preview counts follow it; saved, the members are those it selects and explain says why', async () => {
    const id = await createGroup('Staff', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } });
    await waitForSync(id);
    await signIn(t.adminKey);
    await page.getByRole('link', { name: 'Staff', exact: true }).click();
    await page.getByRole('heading', { name: 'Staff' }).waitFor();
    await page.getByTestId('member-count').filter({ hasText: '3' }).waitFor();
    // First condition: department equal Sales (ana, ben, cleo): cleo would join, dan leave.
    await page.locator('[data-path="conditions.all[0]"]').getByLabel('Fact', { exact: true }).selectOption('field');
    await page.locator('[data-path="conditions.all[0]"]').getByLabel('Field', { exact: true }).selectOption('department');
    await page.locator('[data-path="conditions.all[0]"]').getByLabel('Operator', { exact: true }).selectOption('equal');
    await page.locator('[data-path="conditions.all[0]"]').getByLabel('Value', { exact: true }).selectOption('Sales');
    await page.getByTestId('preview-add').filter({ hasText: /^1$/ }).waitFor();
    expect(await page.getByTestId('preview-remove').textContent()).to.equal('1');
    // Second condition: and staff: cleo no longer joins.
    await page.locator('[data-path="conditions"] > .row').getByRole('button', { name: 'Add a condition' }).click();
    await page.locator('[data-path="conditions.all[1]"]').getByLabel('Value', { exact: true }).selectOption('staff');
    await page.getByTestId('preview-add').filter({ hasText: /^0$/ }).waitFor();
    expect(await page.getByTestId('preview-remove').textContent()).to.equal('1');
    // The JSON view is the same rule.
    await page.getByText('JSON', { exact: true }).click();
    const json = JSON.parse(await page.getByLabel('Rule as JSON').inputValue());
    expect(json).to.deep.equal({
      conditions: {
        all: [
          { fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Sales' },
          { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' },
        ],
      },
    });
    await screenshot(page, 'group-rule-builder');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();
    // Stored: the rule and, after the sync, the members.
    const stored = await t.api.get(`/api/v1/groups/${id}/rule`).set(await admin());
    expect(stored.body).to.deep.equal({ version: 2, rule: json });
    await waitForSync(id);
    await page.reload();
    const members = page.getByTestId('members');
    await members.getByRole('link', { name: 'Ana Tester' }).waitFor();
    await members.getByRole('link', { name: 'Ben Tester' }).waitFor();
    expect(await members.locator('tbody tr').count()).to.equal(2);
    // Explain: the user is found by email, the conditions read in words.
    await page.getByLabel('Why is this user in the group, or not?').fill('dan@example.com');
    await page.locator('#explain').getByRole('button', { name: 'Find' }).click();
    await page.getByRole('button', { name: 'Explain Dan Tester' }).click();
    const why = page.getByTestId('explanation');
    await why.getByText('Not a member').waitFor();
    expect(await why.textContent()).to.contain('Department is “Sales” — the user has “Support”');
    // From a member's row: why Ana is in the group.
    await page.getByRole('button', { name: 'Why is Ana Tester here?' }).click();
    await why.getByText('Member', { exact: true }).waitFor();
    expect(await why.textContent()).to.contain('Ana Tester');
    await screenshot(page, 'group');
  });

  it('when someone else saves the rule first, then saving answers the conflict and the latest rule can be reloaded and saved again', async () => {
    const id = await createGroup('Conflicted', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } });
    await signIn(t.adminKey);
    await page.goto(`${base}/console/#/groups/${id}`);
    await page.locator('[data-path="conditions.all[0]"]').getByLabel('Value', { exact: true }).selectOption('learner');
    // A concurrent edit through the API: version 2.
    const theirs = { conditions: { any: [{ fact: 'email', operator: 'endsWith', value: '@example.com' }] } };
    const concurrent = await t.api.put(`/api/v1/groups/${id}/rule`).set(await admin()).set('If-Match', '"1"').send({ rule: theirs });
    expect(concurrent.status).to.equal(200);
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByTestId('conflict').waitFor();
    await screenshot(page, 'conflict');
    await page.getByRole('button', { name: 'Reload the latest rule' }).click();
    await page.locator('[data-path="conditions"]').getByLabel('Combine', { exact: true }).filter({ has: page.locator('option[value="any"]:checked') }).waitFor();
    expect(await page.locator('[data-path="conditions.any[0]"]').getByLabel('Value', { exact: true }).inputValue()).to.equal('@example.com');
    await page.locator('[data-path="conditions.any[0]"]').getByLabel('Value', { exact: true }).fill('@example.org');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 3' }).waitFor();
    const stored = await t.api.get(`/api/v1/groups/${id}/rule`).set(await admin());
    expect(stored.body.version).to.equal(3);
    expect(stored.body.rule).to.deep.equal({ conditions: { any: [{ fact: 'email', operator: 'endsWith', value: '@example.org' }] } });
    // Another conflict, resolved the other way: keep the draft and save it over theirs.
    const again = await t.api.put(`/api/v1/groups/${id}/rule`).set(await admin()).set('If-Match', '"3"').send({ rule: theirs });
    expect(again.status).to.equal(200);
    await page.locator('[data-path="conditions.any[0]"]').getByLabel('Value', { exact: true }).fill('@example.net');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByTestId('conflict').waitFor();
    // Keeping the draft reads the latest version first; a slow answer (a loaded machine) must not let Save go out
    // with the version the conflict was about, which conflicts again.
    await page.route(`**/groups/${id}/rule`, async (route) => {
      if (route.request().method() === 'GET') await new Promise((r) => setTimeout(r, 1000));
      await route.continue();
    });
    await page.getByRole('button', { name: 'Keep my draft' }).click();
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 5' }).waitFor();
    await page.unroute(`**/groups/${id}/rule`);
    const kept = await t.api.get(`/api/v1/groups/${id}/rule`).set(await admin());
    expect(kept.body).to.deep.equal({ version: 5, rule: { conditions: { any: [{ fact: 'email', operator: 'endsWith', value: '@example.net' }] } } });
  });

  it('when a template of the rules catalogue is chosen and saved, then removals the safety valve held are confirmed in the console, with sync progress shown', async () => {
    const id = await createGroup('Templated', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'learner' }] } });
    await waitForSync(id);
    await signIn(t.adminKey);
    await page.goto(`${base}/console/#/groups/${id}`);
    await page.getByTestId('member-count').filter({ hasText: '2' }).waitFor();
    await page.getByLabel('Start from a template').selectOption('completed-course');
    expect(await page.locator('[data-path="conditions.all[0]"]').getByLabel('Course', { exact: true }).inputValue()).to.equal('DRV-101');
    // ana completed DRV-101 and joins; the two learners leave.
    await page.getByTestId('preview-add').filter({ hasText: /^1$/ }).waitFor();
    expect(await page.getByTestId('preview-remove').textContent()).to.equal('2');
    expect(await page.getByTestId('preview').textContent()).to.contain('Ana Tester');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();
    // Removing both of the group's two members is more than the safety valve allows at once: held.
    await waitFor(async () => (await t.api.get(`/api/v1/groups/${id}`).set(await admin())).body.sync?.heldRemovals === 2);
    await page.reload();
    await page.getByTestId('sync-state').filter({ hasText: 'held (2 removals)' }).waitFor();
    await page.getByTestId('member-count').filter({ hasText: /^3$/ }).waitFor();
    // Sync now holds them again, with its progress shown to the end.
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.locator('.job-progress').filter({ hasText: 'completed' }).waitFor();
    await page.getByRole('button', { name: 'Review 2 held removals' }).click();
    await screenshot(page, 'held-removals');
    await page.getByRole('button', { name: 'Yes, remove 2 users' }).click();
    await page.getByTestId('member-count').filter({ hasText: /^1$/ }).waitFor();
    await page.getByTestId('sync-state').filter({ hasText: 'idle' }).waitFor();
    const members = await t.api.get(`/api/v1/groups/${id}/members`).set(await admin());
    expect(members.body.items.map((m: { externalId: string }) => m.externalId)).to.deep.equal(['ana']);
  });

  it('when a rule has an error, then it shows at its condition', async () => {
    const id = await createGroup('With errors', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } });
    await signIn(t.adminKey);
    await page.goto(`${base}/console/#/groups/${id}`);
    await page.locator('[data-path="conditions"] > .row').getByRole('button', { name: 'Add a condition' }).click();
    await page.locator('[data-path="conditions.all[1]"]').getByLabel('Fact', { exact: true }).selectOption('email');
    await page.locator('[data-path="conditions.all[1]"]').getByLabel('Operator', { exact: true }).selectOption('includesText');
    // includesText needs a non-empty string: the API's 400 names conditions.all[1].value.
    await page.locator('[data-path="conditions.all[1]"]').getByLabel('Value', { exact: true }).fill('');
    await page.locator('[data-path="conditions.all[1]"] .field-errors').waitFor();
    expect(await page.locator('[data-path="conditions.all[0]"] .field-errors').count()).to.equal(0);
    expect(await page.getByRole('button', { name: 'Save rule' }).isEnabled()).to.equal(true);
    // The JSON view edits the same rule: a rule typed there shows in the builder, and its errors are gone.
    await page.getByText('JSON', { exact: true }).click();
    await page.getByLabel('Rule as JSON').fill(JSON.stringify({ conditions: { any: [{ fact: 'email', operator: 'endsWith', value: '@example.com' }] } }));
    await page.locator('[data-path="conditions.any[0]"]').getByLabel('Fact', { exact: true }).waitFor();
    expect(await page.locator('[data-path="conditions.any[0]"]').getByLabel('Operator', { exact: true }).inputValue()).to.equal('endsWith');
    await page.getByTestId('preview-add').waitFor();
    expect(await page.locator('.field-errors').count()).to.equal(0);
  });

  it('when a request with a draft rule is opened, then creating its group marks it done with the group, in one flow', async () => {
    const draftRule = { conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: 'Support' }] } };
    const created = await t.api.post('/api/v1/requests').set(await admin()).send({ title: 'Support team group', description: 'Everyone in Support', requestedBy: 'hr@example.com', draftRule });
    expect(created.status).to.equal(201);
    await signIn(t.adminKey);
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.getByRole('link', { name: 'Support team group' }).click();
    expect(await page.locator('[data-path="conditions.all[0]"]').getByLabel('Value', { exact: true }).inputValue()).to.equal('Support');
    await page.getByRole('button', { name: 'Start work' }).click();
    await page.getByTestId('request-status').filter({ hasText: 'in progress' }).waitFor();
    await page.getByLabel('Group name').fill('Support team');
    await page.getByRole('button', { name: 'Preview who would join' }).click();
    await page.getByTestId('create-preview').getByRole('link', { name: 'Dan Tester' }).waitFor();
    await page.getByLabel(/Start the group now/).check();
    await screenshot(page, 'request');
    await page.getByRole('button', { name: 'Create group and mark done' }).click();
    await page.getByTestId('request-status').filter({ hasText: 'done' }).waitFor();
    const stored = await t.api.get(`/api/v1/requests/${created.body.id}`).set(await admin());
    expect(stored.body.status).to.equal('done');
    expect(stored.body.timeline.map((e: { status: string }) => e.status)).to.deep.equal(['open', 'in_progress', 'done']);
    const group = await t.api.get(`/api/v1/groups/${stored.body.groupId}`).set(await admin());
    expect(group.body.name).to.equal('Support team');
    expect(group.body.rule).to.deep.equal(draftRule);
    await page.getByTestId('request-group').getByRole('link', { name: 'Support team' }).click();
    await page.getByRole('heading', { name: 'Support team', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('link', { name: 'Support team', exact: true }).waitFor();
    await screenshot(page, 'groups');
  });

  it('when a viewer signs in, then nothing can be edited, and the API refuses a write made with the session anyway', async () => {
    const id = await createGroup('Viewed', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } });
    await signIn(await t.keyFor('viewer'));
    expect(await page.getByTestId('role').textContent()).to.equal('viewer');
    await page.getByText('read only').waitFor();
    expect(await page.getByRole('form', { name: 'Create a group' }).count()).to.equal(0);
    expect(await page.getByRole('link', { name: 'Dashboard' }).count()).to.equal(0);
    await page.goto(`${base}/console/#/groups/${id}`);
    await page.locator('[data-path="conditions.all[0]"]').getByLabel('Fact', { exact: true }).waitFor();
    expect(await page.locator('[data-path="conditions.all[0]"]').getByLabel('Fact', { exact: true }).isDisabled()).to.equal(true);
    expect(await page.getByRole('button', { name: 'Save rule' }).count()).to.equal(0);
    expect(await page.getByRole('button', { name: /Sync now|Pause/ }).count()).to.equal(0);
    await screenshot(page, 'viewer-group');
    const status = await page.evaluate(async (groupId) => {
      const session = (await (await fetch('/api/v1/session')).json()) as { csrfToken: string };
      const res = await fetch(`/api/v1/groups/${groupId}/rule`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken },
        body: JSON.stringify({ rule: { conditions: { all: [{ fact: 'email', operator: 'exists', value: true }] } } }),
      });
      return res.status;
    }, id);
    expect(status).to.equal(403);
    const stored = await t.api.get(`/api/v1/groups/${id}/rule`).set(await admin());
    expect(stored.body.version).to.equal(1);
  });

  it('when a manual group is created in the console, then members are added and removed by hand, and stored', async () => {
    await signIn(t.adminKey);
    const form = page.getByRole('form', { name: 'Create a group' });
    await form.getByLabel('Name').fill('Hand picked');
    await form.getByLabel('Type').selectOption('manual');
    await form.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { name: 'Hand picked' }).waitFor();
    await page.getByLabel('Add a member by hand').fill('Eve');
    await page.getByLabel('Add a member by hand').press('Enter');
    await page.getByRole('button', { name: 'Add Eve Tester' }).click();
    await page.getByTestId('members').getByRole('link', { name: 'Eve Tester' }).waitFor();
    await page.getByTestId('member-count').filter({ hasText: /^1$/ }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2]!);
    const stored = await t.api.get(`/api/v1/groups/${id}/members`).set(await admin());
    expect(stored.body.items.map((m: { externalId: string; source: string }) => [m.externalId, m.source])).to.deep.equal([['eve', 'manual']]);
    await page.getByRole('button', { name: 'Remove Eve Tester' }).click();
    await page.getByTestId('member-count').filter({ hasText: /^0$/ }).waitFor();
    expect((await t.api.get(`/api/v1/groups/${id}/members`).set(await admin())).body.items).to.deep.equal([]);
  });

  it('when the key of a signed-in session is revoked, then the next call returns the console to the sign-in page', async () => {
    const made = await t.api.post('/api/v1/keys').set(await admin()).send({ name: 'short-lived support', role: 'support' });
    expect(made.status).to.equal(201);
    await signIn(made.body.key);
    expect(await page.getByTestId('role').textContent()).to.equal('support');
    await page.waitForLoadState('networkidle'); // the groups page has had its answers
    expect((await t.api.delete(`/api/v1/keys/${made.body.id}`).set(await admin())).status).to.equal(204);
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByLabel('API key').waitFor();
  });

  it('when the console is 390 px wide, then the groups, users and jobs pages are usable', async () => {
    await context.close();
    context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(UI_TIMEOUT);
    page = await context.newPage();
    await signIn(t.adminKey);
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await screenshot(page, 'groups-390');
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('Email, name or id').fill('Ana');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'Ana Tester', exact: true }).click();
    await page.getByText('Safe driving (DRV-101): completed').waitFor();
    await page.getByTestId('user-groups').getByRole('link', { name: 'Staff', exact: true }).waitFor();
    await screenshot(page, 'user-390');
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('link', { name: 'the job dashboard' }).waitFor();
    // Runs in the page (the test's tsconfig has no DOM types).
    const width = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    expect(width).to.be.at.most(390);
  });
});
