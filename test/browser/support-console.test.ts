// The console as support staff use it (issue 19): pages keyed by what they show, pages that follow the server,
// conditions that stay valid, drafts that are kept, a request flow that previews before it creates, names
// instead of ids, and every page usable at 390 and 1280 px without a console error.
import { expect } from 'chai';
import { useConsoleFixture } from './console-fixture.js';
import { screenshot } from './browser.js';

const branchIs = (branch: string) => ({ conditions: { all: [{ fact: 'user', path: '$.branch', operator: 'equal', value: branch }] } });
const departmentIs = (department: string) => ({ conditions: { all: [{ fact: 'field', params: { key: 'department' }, operator: 'equal', value: department }] } });

describe('admin console for support staff (browser)', function () {
  this.timeout(120_000);
  const f = useConsoleFixture('supportconsole');
  const leaf = (path: string) => f.page.locator(`.rule-leaf[data-path="${path}"]`);

  before(async () => {
    await f.put('/fields/department', { label: 'Department', type: 'select', options: ['Sales', 'Support', 'Engineering'] });
    await f.put('/fields/contract', { label: 'Contract type', type: 'select', options: ['permanent', 'fixed-term'] });
    await f.put('/fields/hireDate', { label: 'Hire date', type: 'date' });
    const people: Array<[string, string, string, 'staff' | 'learner', string, string]> = [
      ['u1001', 'Ana', 'Silva', 'staff', 'Sales', 'Lisbon'],
      ['u1002', 'Ben', 'Okoro', 'staff', 'Sales', 'Melbourne'],
      ['u1003', 'Cleo', 'Marsh', 'learner', 'Sales', 'Melbourne'],
      ['u1004', 'Dan', 'Ito', 'staff', 'Support', 'Lisbon'],
      ['u1005', 'Eve', 'Novak', 'learner', 'Engineering', 'Melbourne'],
    ];
    for (const [id, first, last, type, department, branch] of people) {
      await f.put(`/users/${id}`, { email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`, firstName: first, lastName: last, type, status: 'active', branch, fields: { department } });
    }
  });

  it('defect 1: when the address changes to another request (or back), then the page shows that request, its draft and its group name', async () => {
    const { page } = f;
    const melbourne = await f.post('/requests', { title: 'Melbourne learners', description: 'Everyone in Melbourne', requestedBy: 'ops@example.com', draftRule: branchIs('Melbourne') });
    const lisbon = await f.post('/requests', { title: 'Lisbon staff', description: 'Everyone in Lisbon', requestedBy: 'ops@example.com', draftRule: branchIs('Lisbon') });
    await f.signIn();
    await page.goto(`${f.base}/console/#/requests/${melbourne.id as string}`);
    await page.getByRole('heading', { name: 'Melbourne learners' }).waitFor();
    await f.waitFor(async () => (await leaf('conditions.all[0]').getByLabel('Value').inputValue()) === 'Melbourne', 'the Melbourne draft');
    await f.goHash(`#/requests/${lisbon.id as string}`);
    await page.getByRole('heading', { name: 'Lisbon staff' }).waitFor();
    await f.waitFor(async () => (await page.getByLabel('Group name').inputValue()) === 'Lisbon staff', 'the group name of the Lisbon request');
    expect(await leaf('conditions.all[0]').getByLabel('Value').inputValue()).to.equal('Lisbon');
    await page.goBack();
    await page.getByRole('heading', { name: 'Melbourne learners' }).waitFor();
    await f.waitFor(async () => (await page.getByLabel('Group name').inputValue()) === 'Melbourne learners', 'the group name of the Melbourne request');
    expect(await leaf('conditions.all[0]').getByLabel('Value').inputValue()).to.equal('Melbourne');
  });

  it('defect 1: when the address changes to another group, then the tab and the explain result are that group’s, not the previous one’s', async () => {
    const { page } = f;
    const automatic = await f.createGroup('Sales people', departmentIs('Sales'));
    const manual = await f.createGroup('Hand picked few', undefined);
    await f.waitForSync(automatic);
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${automatic}`);
    await page.getByRole('heading', { name: 'Sales people' }).waitFor();
    await page.getByRole('button', { name: 'History' }).click();
    await page.locator('#explain input').first().fill('ana');
    await page.locator('#explain').getByRole('button', { name: 'Find' }).click();
    await page.locator('#explain').getByRole('button', { name: 'Explain Ana Silva' }).click();
    await page.getByTestId('explanation').waitFor();
    await f.goHash(`#/groups/${manual}`);
    await page.getByRole('heading', { name: 'Hand picked few' }).waitFor();
    expect(await page.getByRole('button', { name: 'Members' }).getAttribute('aria-pressed')).to.equal('true');
    expect(await page.getByTestId('explanation').count()).to.equal(0);
    expect(await page.locator('#explain input').first().inputValue()).to.equal('');
  });

  it('defect 2: when a group is paused and resumed, then its state follows the server back to idle and the History tab shows the new rows', async () => {
    const { page } = f;
    const id = await f.createGroup('Porto office', branchIs('Porto'));
    await f.waitForSync(id);
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${id}`);
    await page.getByRole('heading', { name: 'Porto office' }).waitFor();
    await page.getByRole('button', { name: 'History' }).click();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByTestId('sync-state').filter({ hasText: 'paused' }).waitFor();
    await f.put('/users/u2001', { email: 'zoe.porto@example.com', firstName: 'Zoe', lastName: 'Porto', type: 'staff', status: 'active', branch: 'Porto', fields: {} });
    await page.getByRole('button', { name: 'Resume' }).click();
    // The API settles within a second or two; the page must follow it without a reload.
    await page.getByTestId('sync-state').filter({ hasText: 'idle' }).waitFor({ timeout: 10_000 });
    await page.getByTestId('history').getByText('u2001').first().waitFor({ timeout: 10_000 });
    await page.getByTestId('member-count').filter({ hasText: /^1$/ }).waitFor({ timeout: 10_000 });
  });

  it('defect 3: when a condition’s fact, field or operator changes, then its value is reset to a valid value of the new type', async () => {
    const { page } = f;
    const id = await f.createGroup('Condition resets', departmentIs('Support'), { paused: true });
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${id}`);
    await page.locator('[data-path="conditions"] > .row').getByRole('button', { name: 'Add a condition' }).click();
    const added = leaf('conditions.all[1]');
    await added.getByLabel('Fact').selectOption('field');
    await added.getByLabel('Field').selectOption('contract');
    expect(await added.getByLabel('Value').inputValue()).to.equal('permanent');
    expect(await added.getByLabel('Value').locator('option').allTextContents()).to.not.include('staff');
    await added.getByLabel('Field').selectOption('hireDate');
    const date = added.getByLabel(/Value|Date/);
    expect(await date.getAttribute('type')).to.equal('date');
    expect(await date.inputValue()).to.match(/^\d{4}-\d{2}-\d{2}$/);
    await added.getByLabel('Operator').selectOption('not:before');
    expect(await added.getByLabel('Operator').locator('option:checked').textContent()).to.equal('is on or after, or has none');
    expect(await date.inputValue(), 'a date stays a date under another date operator').to.match(/^\d{4}-\d{2}-\d{2}$/);
    await page.getByTestId('preview-add').waitFor();
    expect(await page.locator('.field-errors').count()).to.equal(0);
    // Emptied, the date is asked for in words at the condition.
    await date.fill('');
    await added.getByText('Hire date needs a date').waitFor();
    await date.fill('2026-01-01');
    await screenshot(page, 'condition-in-words');
  });

  it('defect 4: when a draft is built on a request page and the page is left, then the draft is kept on the request', async () => {
    const { page } = f;
    const request = await f.post('/requests', { title: 'Learners please', description: 'A group of learners', requestedBy: 'ops@example.com' });
    await f.signIn();
    await page.goto(`${f.base}/console/#/requests/${request.id as string}`);
    await page.getByRole('heading', { name: 'Learners please' }).waitFor();
    await leaf('conditions.all[0]').getByLabel('Value').selectOption('learner');
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await f.waitFor(async () => JSON.stringify((await f.get(`/requests/${request.id as string}`)).draftRule ?? null).includes('learner'), 'the draft stored on the request');
    await page.goBack();
    await page.getByRole('heading', { name: 'Learners please' }).waitFor();
    await f.waitFor(async () => (await leaf('conditions.all[0]').getByLabel('Value').inputValue()) === 'learner', 'the draft shown again');
  });

  it('defect 5: when a request’s rule matches nobody, then creating its group warns first and the group is created paused', async () => {
    const { page } = f;
    const request = await f.post('/requests', { title: 'Atlantis branch', description: 'Everyone in Atlantis', requestedBy: 'ops@example.com', draftRule: branchIs('Atlantis') });
    await f.signIn();
    await page.goto(`${f.base}/console/#/requests/${request.id as string}`);
    await page.getByRole('button', { name: 'Preview who would join' }).click();
    await page.getByTestId('create-preview').getByText(/matches nobody/).waitFor();
    // Nothing is created by the preview.
    expect(((await f.get('/groups?limit=1000')).items as Array<{ name: string }>).some((g) => g.name === 'Atlantis branch')).to.equal(false);
    expect(await page.getByLabel(/Start the group now/).isChecked()).to.equal(false);
    await page.getByRole('button', { name: 'Create group and mark done' }).click();
    await page.getByTestId('request-status').filter({ hasText: /done/ }).waitFor();
    const stored = await f.get(`/requests/${request.id as string}`);
    const group = await f.get(`/groups/${stored.groupId as string}`);
    expect(group.name).to.equal('Atlantis branch');
    expect(group.paused).to.equal(true);
  });

  it('defect 6: when an admin opens the job dashboard, then its live events connect (no 501, no SSE error) and the page says what it lists', async () => {
    const { page } = f;
    await f.signIn();
    const events: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/dashboard/api/events')) events.push(r.status());
    });
    await page.goto(`${f.base}/dashboard/`);
    // Long enough for the dashboard's stream to fail and retry (it retried every few seconds).
    await page.waitForTimeout(5000);
    expect(events.length, 'the dashboard opened its event stream').to.be.greaterThan(0);
    expect(events.every((s) => s === 200), `event stream statuses ${events.join(',')}`).to.equal(true);
    expect(f.consoleErrors).to.deep.equal([]);
    await page.getByText('Finished one-off jobs').waitFor();
  });

  it('defect 7: when /docs shows GET /groups, then its course parameter is a string with a pattern, not "never", and nothing points to a file users do not have', async () => {
    const { page } = f;
    await page.goto(`${f.base}/docs/`);
    const op = page.locator('.opblock-get').filter({ hasText: '/api/v1/groups' }).filter({ hasNotText: '{id}' }).first();
    await op.locator('.opblock-summary').click();
    const course = op.locator('tr[data-param-name="course"]');
    await course.waitFor();
    expect(await course.textContent()).to.contain('string').and.not.contain('never');
    expect(await page.locator('body').textContent()).to.not.contain('shared/API.md');
  });

  it('when support staff work a request from asked to done (written, draft built and saved, preview, group created, done), then every step names people and groups, never an id', async () => {
    const { page } = f;
    await f.signIn();
    await page.getByRole('link', { name: 'Requests' }).click();
    const form = page.getByRole('form', { name: 'New request' });
    await form.getByLabel('Title').fill('Sales staff group');
    await form.getByLabel('Description').fill('Please create a group of everyone in Sales\nwho is staff (not learners).');
    await form.getByLabel('Requested by').fill('Hana from HR');
    await form.getByRole('button', { name: 'Add a draft rule' }).click();
    await form.locator('.rule-leaf[data-path="conditions.all[0]"]').getByLabel('Value').selectOption('staff');
    await form.getByRole('button', { name: 'Add request' }).click();
    await page.getByRole('heading', { name: 'Sales staff group', exact: true }).waitFor();
    expect(await page.locator('.description').textContent()).to.contain('\nwho is staff');
    await page.getByRole('button', { name: 'Start work' }).click();
    await page.getByTestId('request-status').filter({ hasText: 'in progress' }).waitFor();
    // The draft: staff, and department is Sales (an operator in words).
    await page.locator('[data-path="conditions"] > .row').getByRole('button', { name: 'Add a condition' }).click();
    const second = leaf('conditions.all[1]');
    await second.getByLabel('Fact').selectOption('field');
    await second.getByLabel('Field').selectOption('department');
    expect(await second.getByLabel('Operator').locator('option:checked').textContent()).to.equal('is');
    await second.getByLabel('Value').selectOption('Sales');
    await page.getByTestId('draft-state').filter({ hasText: 'Draft saved' }).waitFor();
    await page.getByRole('button', { name: 'Preview who would join' }).click();
    const preview = page.getByTestId('create-preview');
    await preview.getByRole('link', { name: 'Ana Silva' }).waitFor();
    await preview.getByRole('link', { name: 'Ben Okoro' }).waitFor();
    expect(await page.getByTestId('create-preview-count').textContent()).to.equal('2');
    expect(await preview.textContent()).to.not.contain('u100');
    await page.getByLabel(/Start the group now/).check();
    await screenshot(page, 'request-preview');
    await page.getByRole('button', { name: 'Create group and mark done' }).click();
    await page.getByTestId('request-status').filter({ hasText: 'done' }).waitFor();
    const group = page.getByTestId('request-group');
    await group.getByRole('link', { name: 'Sales staff group' }).waitFor();
    expect(await group.textContent()).to.not.contain('grp_');
    // The done request shows its rule, and can be reopened.
    await page.getByRole('region', { name: 'Rule' }).waitFor();
    await screenshot(page, 'request-done');
    await group.getByRole('link', { name: 'Sales staff group' }).click();
    await page.getByRole('heading', { name: 'Sales staff group', exact: true }).waitFor();
    await page.getByTestId('member-count').filter({ hasText: /^2$/ }).waitFor();
    const members = page.getByTestId('members');
    await members.getByRole('link', { name: 'Ana Silva' }).waitFor();
    expect(await members.textContent()).to.contain('ana.silva@example.com');
    await page.getByLabel('Search the members').fill('okoro');
    await page.getByLabel('Search the members').press('Enter');
    await f.waitFor(async () => (await members.locator('tbody tr').count()) === 1, 'one member found');
    await members.getByRole('link', { name: 'Ben Okoro' }).waitFor();
    await page.getByRole('button', { name: 'History' }).click();
    await page.getByTestId('history').getByRole('link', { name: 'Ana Silva' }).waitFor();
    await screenshot(page, 'group-history');
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByTestId('jobs').getByText('Sync of “Sales staff group”').first().waitFor();
    const stored = (await f.get('/requests?status=done&limit=100')).items as Array<{ title: string; status: string; groupId: string }>;
    const request = stored.find((r) => r.title === 'Sales staff group')!;
    const created = await f.get(`/groups/${request.groupId}`);
    expect(created).to.include({ name: 'Sales staff group', paused: false, memberCount: 2 });
  });

  for (const width of [390, 1280]) {
    it(`when every page is visited at ${width} px, then none scrolls sideways and the browser logs no error`, async () => {
      const page = await f.newPage({ width, height: 900 });
      const groupId = await f.createGroup(`Every page ${width}`, departmentIs('Sales'));
      const manualId = await f.createGroup(`Every page manual ${width}`, undefined);
      await f.waitForSync(groupId);
      await f.t.api.put(`/api/v1/groups/${groupId}/exclusions/u1005`).set({ Authorization: `Bearer ${f.t.adminKey}` }).expect(201);
      const open = await f.post('/requests', { title: `Page check ${width}`, description: 'One\ntwo', requestedBy: 'ops@example.com', draftRule: departmentIs('Sales') });
      const done = await f.post('/requests', { title: `Done check ${width}`, description: 'Done', requestedBy: 'ops@example.com' });
      await f.t.api.patch(`/api/v1/requests/${done.id as string}`).set({ Authorization: `Bearer ${f.t.adminKey}` }).send({ status: 'done', groupId }).expect(200);
      const noSideScroll = async (where: string) => {
        const [scroll, inner] = await page.evaluate(() => {
          const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number });
          return [d.document.documentElement.scrollWidth, d.innerWidth];
        });
        expect(scroll, `${where} at ${width} px scrolls sideways`).to.be.at.most(inner);
      };
      await page.goto(`${f.base}/console/`);
      await page.getByLabel('API key').waitFor();
      await noSideScroll('the sign-in page');
      await f.signIn();
      const visit = async (hash: string, ready: () => Promise<unknown>, name: string) => {
        await f.goHash(hash);
        await ready();
        await page.waitForLoadState('networkidle');
        await noSideScroll(name);
        if (width === 390 && /groups\/|requests\//.test(hash)) await screenshot(page, `${name.replace(/\W+/g, '-')}-390`);
      };
      await visit('#/groups', () => page.getByRole('link', { name: `Every page ${width}`, exact: true }).waitFor(), 'groups');
      await visit(`#/groups/${groupId}`, () => page.getByTestId('members').getByRole('link', { name: 'Ana Silva' }).waitFor(), 'group');
      await page.getByRole('button', { name: 'Exclusions' }).click();
      await page.getByTestId('exclusions').getByRole('link', { name: 'Eve Novak' }).waitFor();
      await noSideScroll('the exclusions tab');
      await page.getByRole('button', { name: 'History' }).click();
      await page.getByTestId('history').getByRole('link', { name: 'Ana Silva' }).first().waitFor();
      await noSideScroll('the history tab');
      await visit(`#/groups/${manualId}`, () => page.getByRole('heading', { name: `Every page manual ${width}` }).waitFor(), 'manual group');
      await visit('#/requests', () => page.getByRole('link', { name: `Page check ${width}` }).waitFor(), 'requests');
      await visit(`#/requests/${open.id as string}`, () => page.getByRole('button', { name: 'Preview who would join' }).waitFor(), 'request');
      await visit(`#/requests/${done.id as string}`, () => page.getByTestId('request-group').getByRole('link').waitFor(), 'done request');
      await visit('#/users', () => page.getByLabel('Email, name or id').waitFor(), 'users');
      await page.getByLabel('Email, name or id').fill('silva');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('link', { name: 'Ana Silva' }).waitFor();
      await noSideScroll('the users found');
      await visit('#/users/u1001', () => page.getByTestId('user-groups').getByRole('link', { name: `Every page ${width}` }).waitFor(), 'user');
      await visit('#/jobs', () => page.getByTestId('jobs').getByText(`Sync of “Every page ${width}”`).first().waitFor(), 'jobs');
      await page.goto(`${f.base}/dashboard/`);
      await page.getByText('Finished one-off jobs').waitFor();
      await page.waitForLoadState('networkidle').catch(() => undefined);
      await page.goto(`${f.base}/docs/`);
      await page.locator('.opblock').first().waitFor();
      await page.waitForLoadState('networkidle');
      expect(f.consoleErrors, 'errors the browser logged').to.deep.equal([]);
    });
  }
});
