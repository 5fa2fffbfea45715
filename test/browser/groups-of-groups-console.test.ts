// Rules that build on groups and keep time, in the console (issue 20): a "member of X and not member of Y" rule
// built with the group search and saved, read back by name; a cycle refused as the server words it; a group
// page's "used by" and its next change by time; explain's referenced group and next change; preview as of later.
import { expect } from 'chai';
import { screenshot } from './browser.js';
import { useConsoleFixture } from './console-fixture.js';

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** "2027-03-02 09:14 UTC" as the console writes an instant in UTC (seconds when it has them). */
const utcWords = (iso: string) => {
  const d = new Date(iso);
  const text = d.toISOString().replace('T', ' ');
  return `${d.getUTCSeconds() || d.getUTCMilliseconds() ? text.slice(0, 19) : text.slice(0, 16)} UTC`;
};

describe('admin console: groups of groups and time (browser)', function () {
  this.timeout(120_000);
  const f = useConsoleFixture('groupsofgroups');
  const leaf = (path: string) => f.page.locator(`.rule-leaf[data-path="${path}"]`);
  const ids = {} as Record<'sales' | 'contractors' | 'vip' | 'target', string>;

  const addMember = async (groupId: string, externalId: string) => {
    const res = await f.t.api.put(`/api/v1/groups/${groupId}/members/${externalId}`).set({ Authorization: `Bearer ${f.t.adminKey}` });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
  };
  const members = async (groupId: string) => ((await f.get(`/groups/${groupId}/members?limit=1000`)).items as Array<{ externalId: string }>).map((m) => m.externalId).sort();

  /** Waits for the element of `testId` to read `text`; a timeout says what it read instead. */
  const waitForText = async (testId: string, text: RegExp | string) => {
    const el = f.page.getByTestId(testId);
    try {
      await el.filter({ hasText: text }).first().waitFor();
    } catch (err) {
      const seen = await f.page.locator('.rule-editor').textContent().catch(() => '(no rule editor)');
      throw new Error(`${testId} never read ${String(text)}; the rule editor read: ${seen}`, { cause: err });
    }
  };

  /** Chooses the group `name` for the condition at `path` by typing `search` into its group search. */
  const chooseGroup = async (path: string, search: string, name: string) => {
    await leaf(path).getByLabel('Find a group').fill(search);
    await leaf(path).getByRole('button', { name: `Choose ${name}`, exact: true }).click();
    await leaf(path).getByTestId('chosen-group').filter({ hasText: name }).waitFor();
  };

  before(async () => {
    await f.put('/fields/hireDate', { label: 'Hire date', type: 'date' });
    const people: Array<[string, string, string]> = [
      ['ana', 'Ana', 'Silva'],
      ['ben', 'Ben', 'Okoro'],
      ['cleo', 'Cleo', 'Marsh'],
    ];
    for (const [id, first, last] of people) {
      await f.put(`/users/${id}`, { email: `${id}@example.com`, firstName: first, lastName: last, type: 'staff', status: 'active', fields: {} });
    }
    ids.sales = await f.createGroup('Sales Portugal', undefined);
    ids.contractors = await f.createGroup('Contractors', undefined);
    ids.vip = await f.createGroup('VIP customers desk', undefined);
    for (const u of ['ana', 'ben']) await addMember(ids.sales, u);
    await addMember(ids.contractors, 'ben');
    ids.target = await f.createGroup('Sales Portugal staff', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } });
    await f.waitForSync(ids.target);
  });

  it('when a "member of X and not member of Y" rule is built with the group search and saved, then it is stored with the ids, its members are those it names, and it reads back by name', async () => {
    const { page } = f;
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${ids.target}`);
    await page.getByRole('heading', { name: 'Sales Portugal staff' }).waitFor();
    await leaf('conditions.all[0]').getByLabel('Fact', { exact: true }).selectOption('memberOf');
    // Not chosen yet: the condition says so, and the search offers names, not the group itself.
    await leaf('conditions.all[0]').getByText('needs a group').waitFor();
    await leaf('conditions.all[0]').getByLabel('Find a group').fill('sales');
    await leaf('conditions.all[0]').getByRole('button', { name: 'Choose Sales Portugal', exact: true }).waitFor();
    expect(await leaf('conditions.all[0]').getByRole('button', { name: 'Choose Sales Portugal staff' }).count(), 'the group itself is not offered').to.equal(0);
    await chooseGroup('conditions.all[0]', 'sales', 'Sales Portugal');
    await page.getByRole('button', { name: 'Add a condition' }).click();
    await leaf('conditions.all[1]').getByLabel('Fact', { exact: true }).selectOption('memberOf');
    await leaf('conditions.all[1]').getByLabel('Membership', { exact: true }).selectOption({ label: 'is not a member of' });
    await chooseGroup('conditions.all[1]', 'contr', 'Contractors');
    // The live preview: ana joins (in Sales, not a contractor); ben and cleo leave.
    await waitForText('preview-remove', /^2$/);
    await waitForText('preview-add', /^0$/);
    await screenshot(page, 'rule-member-of');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();

    const stored = await f.get(`/groups/${ids.target}/rule`);
    expect(stored.rule).to.deep.equal({
      conditions: {
        all: [
          { fact: 'memberOf', params: { group: ids.sales }, operator: 'equal', value: true },
          { fact: 'memberOf', params: { group: ids.contractors }, operator: 'equal', value: false },
        ],
      },
    });
    await f.waitForSync(ids.target);
    await f.waitFor(async () => JSON.stringify(await members(ids.target)) === JSON.stringify(['ana']), 'only ana in the group');

    // Read back from the server: the names and the memberships, no id shown alone.
    await page.reload();
    await leaf('conditions.all[1]').getByTestId('chosen-group').filter({ hasText: 'Contractors' }).waitFor();
    expect(await leaf('conditions.all[0]').getByTestId('chosen-group').textContent()).to.equal('Sales Portugal');
    expect(await leaf('conditions.all[0]').getByLabel('Membership', { exact: true }).inputValue()).to.equal('true');
    expect(await leaf('conditions.all[1]').getByLabel('Membership', { exact: true }).inputValue()).to.equal('false');
    expect(await page.getByRole('button', { name: 'Save rule' }).isDisabled(), 'read back unchanged').to.equal(true);

    // Explain: the referenced group's own result for the user, by name.
    await page.locator('#explain input').first().fill('ben');
    await page.locator('#explain').getByRole('button', { name: 'Find' }).click();
    await page.locator('#explain').getByRole('button', { name: 'Explain Ben Okoro' }).click();
    const memberOf = page.getByTestId('explain-member-of');
    await memberOf.first().waitFor();
    expect(await memberOf.nth(0).textContent()).to.contain('is a member of “Sales Portugal” — the user is a member');
    expect(await memberOf.nth(1).textContent()).to.contain('is not a member of “Contractors” — the user is a member');
    // Under each, the named group's own standing: manual groups here, so no rule of theirs.
    expect(await memberOf.nth(1).locator('.nested-explain').textContent()).to.contain('In “Contractors”: member (a manual group');
    expect(f.consoleErrors).to.deep.equal([]);
  });

  it('when the console is 390 px wide, then a rule naming groups, with a search open, and a group used by others do not scroll sideways', async () => {
    const page = await f.newPage({ width: 390, height: 844 });
    const widths = async () =>
      page.evaluate(() => {
        const d = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
        return [d.document.documentElement.scrollWidth, d.innerWidth] as const;
      });
    const id = await f.createGroup('Sales Portugal but not contractors, a long name to wrap', {
      conditions: { all: [{ fact: 'memberOf', params: { group: ids.sales }, operator: 'equal', value: true }, { fact: 'memberOf', params: { group: ids.contractors }, operator: 'equal', value: false }] },
    });
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${id}`);
    await leaf('conditions.all[1]').getByTestId('chosen-group').filter({ hasText: 'Contractors' }).waitFor();
    await leaf('conditions.all[0]').getByLabel('Find a group').fill('s');
    await leaf('conditions.all[0]').getByRole('button', { name: 'Choose Sales Portugal', exact: true }).waitFor();
    await screenshot(page, 'rule-member-of-390');
    const [scroll, inner] = await widths();
    expect(scroll, 'the rule scrolls sideways').to.be.at.most(inner);
    await page.goto(`${f.base}/console/#/groups/${ids.sales}`);
    await page.getByTestId('used-by').waitFor();
    const [scroll2, inner2] = await widths();
    expect(scroll2, 'the used-by group scrolls sideways').to.be.at.most(inner2);
    expect(f.consoleErrors).to.deep.equal([]);
  });

  it('when the template "Members of A who are not in B" is chosen, then both conditions ask for a group, and choosing them by name makes the rule', async () => {
    const { page } = f;
    const id = await f.createGroup('Built from a template', { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } }, { paused: true });
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${id}`);
    await page.getByRole('heading', { name: 'Built from a template' }).waitFor();
    await page.getByLabel('Start from a template').selectOption({ label: 'Members of A who are not in B' });
    for (const path of ['conditions.all[0]', 'conditions.all[1]']) await leaf(path).getByText('needs a group').waitFor();
    expect(await leaf('conditions.all[1]').getByLabel('Membership', { exact: true }).inputValue()).to.equal('false');
    await chooseGroup('conditions.all[0]', 'portugal', 'Sales Portugal');
    await chooseGroup('conditions.all[1]', 'contractors', 'Contractors');
    const wanted = {
      conditions: {
        all: [
          { fact: 'memberOf', params: { group: ids.sales }, operator: 'equal', value: true },
          { fact: 'memberOf', params: { group: ids.contractors }, operator: 'equal', value: false },
        ],
      },
    };
    // The JSON view follows the builder after its render: wait for it.
    await f.waitFor(async () => (await page.getByLabel('Rule as JSON').inputValue()) === JSON.stringify(wanted, null, 2), 'the JSON view showing the rule');
    expect(await page.getByText('needs a group').count()).to.equal(0);
    await waitForText('preview-add', /^1$/);
  });

  it('when a user is explained against a group naming a group that names another, then each level shows its own standing, to the last', async () => {
    const { page } = f;
    const memberOf = (group: string) => ({ conditions: { all: [{ fact: 'memberOf', params: { group }, operator: 'equal', value: true }] } });
    const one = await f.createGroup('Level one', memberOf(ids.sales));
    await f.waitForSync(one);
    const two = await f.createGroup('Level two', memberOf(one));
    await f.waitForSync(two);
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${two}`);
    await page.getByRole('heading', { name: 'Level two' }).waitFor();
    await page.locator('#explain input').first().fill('ana');
    await page.locator('#explain').getByRole('button', { name: 'Find' }).click();
    await page.locator('#explain').getByRole('button', { name: 'Explain Ana Silva' }).click();
    const levels = page.locator('.nested-explain');
    await levels.nth(1).waitFor();
    expect(await levels.count()).to.equal(2);
    expect(await levels.nth(0).locator('> p').textContent()).to.equal('In “Level one”: member; its rule matches');
    expect(await levels.nth(1).locator('> p').textContent()).to.contain('In “Sales Portugal”: member (a manual group');
    expect(await page.getByTestId('explain-member-of').nth(1).textContent()).to.contain('is a member of “Sales Portugal” — the user is a member');
  });

  it('when a rule would close a cycle, then saving it is refused and the cycle shows at the rule in the server’s words', async () => {
    const { page } = f;
    const memberOf = (group: string) => ({ conditions: { all: [{ fact: 'memberOf', params: { group }, operator: 'equal', value: true }] } });
    const lower = await f.createGroup('VIP desk staff', memberOf(ids.vip));
    const upper = await f.createGroup('VIP desk leads', memberOf(lower));
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${lower}`);
    await page.getByRole('heading', { name: 'VIP desk staff', exact: true }).waitFor();
    await leaf('conditions.all[0]').getByTestId('chosen-group').filter({ hasText: 'VIP customers desk' }).waitFor();
    await chooseGroup('conditions.all[0]', 'leads', 'VIP desk leads');
    // What the server answers for this rule, word for word, is what the console shows.
    const rule = memberOf(upper);
    await f.waitFor(async () => (await page.getByLabel('Rule as JSON').inputValue()) === JSON.stringify(rule, null, 2), 'the JSON view showing the rule');
    const refused = await f.t.api.put(`/api/v1/groups/${lower}/rule`).set({ Authorization: `Bearer ${f.t.adminKey}` }).send({ rule });
    expect(refused.status).to.equal(400);
    const messages = (refused.body.errors as Array<{ message: string }>).map((e) => e.message);
    expect(messages.join(' ')).to.contain('→');
    // Checked as it is built (POST /rules/validate for this group), before any save...
    for (const m of messages) await leaf('conditions.all[0]').locator('[role="alert"]').filter({ hasText: m }).waitFor();
    await page.getByText("Fix the rule's errors to see a preview.").waitFor();
    // ...and refused when saved anyway.
    await page.getByRole('button', { name: 'Save rule' }).click();
    for (const m of messages) await page.locator('.rule-editor [role="alert"]').filter({ hasText: m }).first().waitFor();
    await screenshot(page, 'rule-cycle-refused');
    const stored = await f.get(`/groups/${lower}/rule`);
    expect(stored.version, 'nothing stored').to.equal(1);
  });

  it('when a group is named by other rules, then its page lists them as "used by", linked; a group of a time rule shows its next change, explain when a user leaves, and preview as of a later day', async () => {
    const { page } = f;
    const desk = await f.createGroup('Contractor desk', { conditions: { all: [{ fact: 'memberOf', params: { group: ids.contractors }, operator: 'equal', value: true }] } });
    await f.signIn();
    await page.goto(`${f.base}/console/#/groups/${ids.contractors}`);
    await page.getByRole('heading', { name: 'Contractors' }).waitFor();
    await page.getByTestId('used-by').getByRole('link', { name: 'Contractor desk', exact: true }).click();
    await page.getByRole('heading', { name: 'Contractor desk' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash)).to.equal(`#/groups/${desk}`);
    const unused = await f.createGroup('Fire wardens', undefined);
    await page.goto(`${f.base}/console/#/groups/${unused}`);
    await page.getByRole('heading', { name: 'Fire wardens' }).waitFor();
    await page.getByText("No group's rule names this group.").waitFor();

    // Hired 10 days ago under "hired within the last 30 days": leaves in 20 days, at midnight UTC (TIMEZONE default).
    await f.put('/users/cleo', { email: 'cleo@example.com', firstName: 'Cleo', lastName: 'Marsh', type: 'staff', status: 'active', fields: { hireDate: isoDay(Date.now() - 10 * DAY_MS) } });
    const hires = await f.createGroup('New hires', { conditions: { all: [{ fact: 'field', params: { key: 'hireDate' }, operator: 'withinLastDays', value: 30 }] } });
    const g = await f.waitForSync(hires);
    const nextChangeAt = (g.sync as { nextChangeAt: string }).nextChangeAt;
    expect(nextChangeAt).to.be.a('string');
    await page.goto(`${f.base}/console/#/groups/${hires}`);
    await page.getByRole('heading', { name: 'New hires' }).waitFor();
    await page.getByTestId('next-change').filter({ hasText: utcWords(nextChangeAt) }).waitFor();
    await screenshot(page, 'group-next-change');

    await page.locator('#explain input').first().fill('cleo');
    await page.locator('#explain').getByRole('button', { name: 'Find' }).click();
    await page.locator('#explain').getByRole('button', { name: 'Explain Cleo Marsh' }).click();
    const changes = page.getByTestId('changes-at');
    await changes.waitFor();
    const explained = await f.get(`/groups/${hires}/explain/cleo`);
    expect(explained.changesAt).to.equal(nextChangeAt);
    expect(explained.changeReason).to.be.a('string').and.contain('no longer holds');
    const text = (await changes.textContent()) ?? '';
    expect(text.startsWith('Leaves on '), text).to.equal(true);
    expect(text.endsWith(`(${utcWords(nextChangeAt)}) when ${explained.changeReason as string}.`), text).to.equal(true);

    // As of a day in the past: the server's refusal shows beside the date. As of a day after the flip: cleo would leave.
    const localInput = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await page.getByLabel('As of (optional; empty: now)').fill(localInput(new Date(Date.now() - DAY_MS)));
    await page.locator('.preview [role="alert"]').filter({ hasText: /^As of: must be now or later/ }).waitFor();
    await page.getByLabel('As of (optional; empty: now)').fill(localInput(new Date(new Date(nextChangeAt).getTime() + DAY_MS)));
    await waitForText('preview-remove', /^1$/);
    expect(await page.getByTestId('preview-add').textContent()).to.equal('0');
    expect(await page.getByTestId('preview-flips').textContent()).to.contain('1 of these by time alone');

    // The groups list shows it too: a date for the time rule, none for a rule without time, nothing for a manual group.
    await page.goto(`${f.base}/console/#/groups`);
    const nextIn = (name: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) }).getByTestId('next-change');
    await nextIn('New hires').filter({ hasText: /\d/ }).waitFor();
    expect(await nextIn('Sales Portugal staff').textContent()).to.equal('none');
    expect(await nextIn('Contractors').textContent()).to.equal('—');

    // A group without a time rule has no next change.
    await page.goto(`${f.base}/console/#/groups/${ids.target}`);
    await page.getByRole('heading', { name: 'Sales Portugal staff', exact: true }).waitFor();
    expect(await page.getByTestId('next-change').textContent()).to.equal('none');
    // The one error the browser logged is the refused preview of a past instant, asked for above.
    expect(f.consoleErrors.filter((e) => !/status of 400 .*\/preview\)$/.test(e))).to.deep.equal([]);
  });
});
