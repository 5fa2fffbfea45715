// Groups of groups (API.md "Rules" > Groups of groups): memberOf conditions, the dependency graph's refusals, and
// cascades from every source of membership change, through HTTP against the real database, with what was stored.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import {
  createGroup,
  defineField,
  getGroup,
  historyOf,
  patchUser,
  putCourse,
  putUser,
  uniq,
  userBody,
  waitForJob,
  type Auth,
} from '../membership/membership-helpers.js';

const memberOf = (group: string, value = true) => ({ fact: 'memberOf', params: { group }, operator: 'equal', value });
const dept = (value: string) => ({ fact: 'field', params: { key: 'department' }, operator: 'equal', value });

describe('Groups of groups: memberOf rules, their graph and cascades', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  before(async () => {
    t = await startTestService('groupsofgroups');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'department', { label: 'Department', type: 'select', options: ['Sales', 'Engineering', 'People'] });
    await defineField(t, hr, 'region', { label: 'Region', type: 'text' });
  });
  after(async () => t.stop());

  /** The stored memberships of the group, as "externalId:source". */
  const stored = async (groupId: string) =>
    (await t.service.database.db.collection('memberships').find({ group: groupId }).toArray()).map((m) => `${m.externalId as string}:${m.source as string}`).sort();
  const automatic = (conditions: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    createGroup(t, admin, { type: 'automatic', rule: { conditions }, ...extra });
  const manual = () => createGroup(t, admin, { type: 'manual' });
  const putRule = (groupId: string, conditions: Record<string, unknown>) => t.api.put(`/api/v1/groups/${groupId}/rule`).set(admin).send({ rule: { conditions } });
  const validate = (conditions: Record<string, unknown>, group?: string) =>
    t.api.post('/api/v1/rules/validate').set(admin).send({ rule: { conditions }, ...(group ? { group } : {}) }).expect(200);
  const addByHand = (groupId: string, user: string) => t.api.put(`/api/v1/groups/${groupId}/members/${user}`).set(admin).expect((r) => expect(r.status, JSON.stringify(r.body)).to.be.oneOf([200, 201]));
  const removeByHand = (groupId: string, user: string) => t.api.delete(`/api/v1/groups/${groupId}/members/${user}`).set(admin).expect(204);
  const counts = async (...ids: string[]) => Promise.all(ids.map(async (id) => (await getGroup(t, admin, id)).memberCount));

  describe('when rules name groups across three levels, with a negation', () => {
    it('then an HR write moves the user through every level before it answers, and a hand edit of the negated group moves them back, each change recorded with its cause', async () => {
      const sales = await automatic({ all: [dept('Sales')] });
      const vip = await manual();
      // Level 2: members of Sales who are not VIP. Level 3: those of them in the North.
      const salesNotVip = await automatic({ all: [memberOf(sales.id), memberOf(vip.id, false)] });
      const north = await automatic({ all: [memberOf(salesNotVip.id), { fact: 'field', params: { key: 'region' }, operator: 'equal', value: 'North' }] });
      const ana = await putUser(t, hr, userBody({ fields: { region: 'North' } }));
      const bo = await putUser(t, hr, userBody({ fields: { region: 'South' } }));

      await patchUser(t, hr, ana, { fields: { department: 'Sales' } });
      await patchUser(t, hr, bo, { fields: { department: 'Sales' } });
      expect(await stored(sales.id)).to.deep.equal([`${ana}:rule`, `${bo}:rule`].sort());
      expect(await stored(salesNotVip.id)).to.deep.equal([`${ana}:rule`, `${bo}:rule`].sort());
      expect(await stored(north.id)).to.deep.equal([`${ana}:rule`]);
      expect(await counts(sales.id, salesNotVip.id, north.id)).to.deep.equal([2, 2, 1]);
      const joined = (await historyOf(t, admin, salesNotVip.id)).find((h) => h.externalId === ana)!;
      expect(joined.reason).to.equal(`matches rule v1: joined ${sales.name as string}`);
      expect((await historyOf(t, admin, north.id))[0]!.reason).to.equal(`matches rule v1: joined ${salesNotVip.name as string}`);

      // Into VIP by hand: out of "Sales, not VIP" and so out of "North" too, before the PUT answers.
      await addByHand(vip.id, ana);
      expect(await stored(salesNotVip.id)).to.deep.equal([`${bo}:rule`]);
      expect(await stored(north.id)).to.deep.equal([]);
      expect(await counts(salesNotVip.id, north.id)).to.deep.equal([1, 0]);
      const left = (await historyOf(t, admin, salesNotVip.id)).find((h) => h.externalId === ana && h.action === 'removed')!;
      expect(left.reason).to.equal(`no longer matches rule v1: joined ${vip.name as string}`);

      await removeByHand(vip.id, ana);
      expect(await stored(north.id)).to.deep.equal([`${ana}:rule`]);
      // Out of Sales by HR: out of both levels above it.
      // Explain shows each named group's own standing for the user, to any depth.
      const explained = (await t.api.get(`/api/v1/groups/${north.id}/explain/${ana}`).set(admin).expect(200)).body;
      expect(explained).to.include({ member: true, matches: true });
      const level2 = explained.conditions.all[0].group;
      expect(level2).to.include({ id: salesNotVip.id, name: salesNotVip.name, type: 'automatic', member: true, matches: true });
      const [level1, negated] = level2.conditions.all;
      expect(level1.group).to.include({ id: sales.id, type: 'automatic', member: true, matches: true });
      expect(level1.group.conditions.all[0]).to.include({ fact: 'field', factValue: 'Sales', result: true });
      expect(negated.group).to.deep.equal({ id: vip.id, name: vip.name, type: 'manual', member: false });
      expect(negated).to.include({ fact: 'memberOf', value: false, factValue: false, result: true });

      await patchUser(t, hr, ana, { fields: { department: 'People' } });
      expect([await stored(sales.id), await stored(salesNotVip.id), await stored(north.id)]).to.deep.equal([[`${bo}:rule`], [`${bo}:rule`], []]);
      expect(await counts(sales.id, salesNotVip.id, north.id)).to.deep.equal([1, 1, 0]);
    });
  });

  describe('when membership of a named group changes by any source', () => {
    /** A manual group and an automatic one naming it. */
    const pair = async (base?: { id: string; [k: string]: unknown }) => {
      const named = base ?? (await manual());
      return { named, follower: await automatic({ all: [memberOf(named.id)] }) };
    };

    it('then a key join, a copy and a CSV upload each move the user into the group naming it before they answer', async () => {
      const keyed = await createGroup(t, admin, { type: 'manual', key: { enabled: true } });
      const { follower: byKey } = await pair(keyed);
      const key = (await getGroup(t, admin, keyed.id)).key as { key: string };
      const joiner = await putUser(t, hr, userBody());
      await t.api.post('/api/v1/join').set(await t.auth('integration')).send({ key: key.key, externalId: joiner }).expect(200);
      expect(await stored(byKey.id)).to.deep.equal([`${joiner}:rule`]);

      const source = await manual();
      const copied = await putUser(t, hr, userBody());
      await addByHand(source.id, copied);
      const { named: target, follower: byCopy } = await pair();
      const copy = await t.api.post(`/api/v1/groups/${target.id}/members/copy`).set(admin).send({ fromGroup: source.id }).expect(200);
      expect(copy.body).to.include({ added: 1 });
      expect(await stored(byCopy.id)).to.deep.equal([`${copied}:rule`]);

      const { named: uploaded, follower: byCsv } = await pair();
      const listed = [await putUser(t, hr, userBody()), await putUser(t, hr, userBody())];
      const csv = await t.api.post(`/api/v1/groups/${uploaded.id}/members/import`).set(admin).set('Content-Type', 'text/csv').send(`externalId\n${listed.join('\n')}\n`).expect(200);
      expect(csv.body).to.include({ added: 2 });
      expect(await stored(byCsv.id)).to.deep.equal(listed.map((u) => `${u}:rule`).sort());
      expect(await counts(byKey.id, byCopy.id, byCsv.id)).to.deep.equal([1, 1, 2]);
      expect((await historyOf(t, admin, byCsv.id)).map((h) => h.reason)).to.deep.equal(listed.map(() => `matches rule v1: joined ${uploaded.name as string}`));
    });

    it('then a new user joining the default group joins the group naming it as the PUT answers', async () => {
      const { named: defaults, follower } = await pair(await createGroup(t, admin, { type: 'manual', isDefault: true }));
      const fresh = await putUser(t, hr, userBody());
      expect(await stored(defaults.id)).to.include(`${fresh}:default`);
      expect(await stored(follower.id)).to.deep.equal([`${fresh}:rule`]);
      await t.api.patch(`/api/v1/groups/${defaults.id}`).set(admin).send({ isDefault: false }).expect(200);
    });

    it('then an exclusion from the named group, and its rule changing, move the users of the group naming it', async () => {
      const sales = await automatic({ all: [dept('Sales')] });
      const { follower } = await pair(sales);
      const u = await putUser(t, hr, userBody({ fields: { department: 'Sales' } }));
      const v = await putUser(t, hr, userBody({ fields: { department: 'Engineering' } }));
      expect(await stored(follower.id)).to.include(`${u}:rule`);
      await t.api.put(`/api/v1/groups/${sales.id}/exclusions/${u}`).set(admin).expect(201);
      expect(await stored(follower.id)).to.not.include(`${u}:rule`);
      // The rule now selects Engineering: its sync moves v in and the others out, and the group naming it follows.
      const put = await putRule(sales.id, { all: [dept('Engineering')] }).expect(200);
      await waitForJob(t, admin, put.body.jobId as string);
      expect(await stored(sales.id)).to.deep.equal([`${v}:rule`]);
      expect(await stored(follower.id)).to.deep.equal([`${v}:rule`]);
      expect((await getGroup(t, admin, follower.id)).memberCount).to.equal(1);
    });

    it('then a class group sync moving a student into a class group moves them into the group naming it as the enrolment answers', async () => {
      const course = uniq('GOG-');
      await putCourse(t, hr, course, 'Groups of groups');
      const first = await putUser(t, hr, userBody());
      await enrolStudent(course, first);
      const enabled = await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true });
      expect(enabled.status, JSON.stringify(enabled.body)).to.be.oneOf([200, 201]);
      if (enabled.body.jobId) await waitForJob(t, admin, enabled.body.jobId as string);
      const classes = (await t.api.get('/api/v1/groups').query({ course, limit: 100 }).set(admin).expect(200)).body.items as Array<{ id: string; name: string }>;
      const tutorial = classes.find((g) => g.name === '[Tutorial_9]')!;
      const { follower } = await pair(tutorial);
      expect(await stored(follower.id)).to.deep.equal([`${first}:rule`]);
      const second = await putUser(t, hr, userBody());
      await enrolStudent(course, second);
      expect(await stored(tutorial.id)).to.deep.equal([`${first}:class`, `${second}:class`].sort());
      expect(await stored(follower.id)).to.deep.equal([`${first}:rule`, `${second}:rule`].sort());
    });
  });

  describe('when the safety valve holds the removals from a named group', () => {
    it('then the groups after it do not act as if those users had left', async () => {
      const [here, there] = [uniq('here'), uniq('there')];
      const region = (value: string | string[]) => ({ fact: 'field', params: { key: 'region' }, operator: Array.isArray(value) ? 'in' : 'equal', value });
      const bodies = Array.from({ length: 12 }, () => userBody({ fields: { region: here } }));
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: bodies }).expect(200);
      const inHere = await automatic({ all: [region(here)] });
      // Those of the two regions who are not in the first group: nobody, while everyone is in it.
      const notInHere = await automatic({ all: [region([here, there]), memberOf(inHere.id, false)] });
      expect(await stored(notInHere.id)).to.deep.equal([]);
      // Two thirds move at once: the valve holds their removal from the first group, so they are still in it.
      const moved = bodies.slice(0, 8).map((b) => ({ ...b, fields: { region: there } }));
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: moved }).expect(200);
      expect(await stored(inHere.id)).to.have.length(12);
      expect((await getGroup(t, admin, inHere.id)).sync).to.include({ state: 'failed', heldRemovals: 8 });
      expect(await stored(notInHere.id)).to.deep.equal([]);
      expect((await getGroup(t, admin, notInHere.id)).memberCount).to.equal(0);
    });
  });

  describe('when a time flip moves a user out of a named group', () => {
    it('then the group naming it follows at the same instant, saying which group the user left', async () => {
      const course = uniq('CERT-');
      await putCourse(t, hr, course, 'Certification');
      const days = 0.00003; // 2.6 s
      const certified = await automatic({ all: [{ fact: 'enrollment', params: { course }, path: '$.completedAt', operator: 'withinLastDays', value: days }] });
      const follower = await automatic({ all: [memberOf(certified.id)] });
      const ana = await putUser(t, hr, userBody());
      const res = await t.api.put(`/api/v1/courses/${course}/enrollments/${ana}`).set(hr).send({ status: 'completed' });
      expect(res.status).to.be.oneOf([200, 201]);
      expect(await stored(follower.id)).to.deep.equal([`${ana}:rule`]);
      const deadline = Date.now() + 20_000;
      while ((await stored(certified.id)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // The flip's reconcile pass settles the level above before it is done: never one without the other for long.
      for (let i = 0; i < 20 && (await stored(follower.id)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect([await stored(certified.id), await stored(follower.id)]).to.deep.equal([[], []]);
      const left = (await historyOf(t, admin, follower.id)).find((h) => h.action === 'removed')!;
      expect(left.reason).to.equal(`no longer matches rule v1: left ${certified.name as string}`);
      for (let i = 0; i < 20 && (await getGroup(t, admin, follower.id)).memberCount !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await getGroup(t, admin, follower.id)).memberCount).to.equal(0);
    });
  });

  const enrolStudent = async (course: string, user: string) => {
    const res = await t.api.put(`/api/v1/courses/${course}/enrollments/${user}`).set(hr).send({ status: 'in_progress', role: 'student', class: 'Tutorial_9' });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
  };

  describe('when writes at two levels for the same users land at the same moment', () => {
    it('then the group naming both ends right for every user, and of two rules saved at once that would name each other one is refused', async () => {
      const sales = await automatic({ all: [dept('Sales')] });
      const vip = await manual();
      const both = await automatic({ all: [memberOf(sales.id), memberOf(vip.id)] });
      const users = await Promise.all(Array.from({ length: 8 }, () => putUser(t, hr, userBody())));
      // For each user, the HR change into Sales and the hand edit into VIP race.
      await Promise.all(users.flatMap((u) => [patchUser(t, hr, u, { fields: { department: 'Sales' } }), addByHand(vip.id, u)]));
      expect(await stored(both.id)).to.deep.equal(users.map((u) => `${u}:rule`).sort());
      expect((await getGroup(t, admin, both.id)).memberCount).to.equal(8);
      // And back out at once, at both levels.
      await Promise.all(users.flatMap((u) => [patchUser(t, hr, u, { fields: { department: 'People' } }), removeByHand(vip.id, u)]));
      expect(await stored(both.id)).to.deep.equal([]);
      expect((await getGroup(t, admin, both.id)).memberCount).to.equal(0);

      for (let round = 0; round < 3; round++) {
        const a = await automatic({ all: [dept('Sales')] });
        const b = await automatic({ all: [dept('Sales')] });
        const answers = await Promise.all([putRule(a.id, { all: [memberOf(b.id)] }), putRule(b.id, { all: [memberOf(a.id)] })]);
        expect(answers.map((r) => r.status).sort()).to.deep.equal([200, 400]);
        expect(answers.find((r) => r.status === 400)!.body.errors[0].message).to.match(/→/);
      }
    });
  });

  describe('when the full sync runs', () => {
    it('then it evaluates the groups in dependency order: a group naming another reads what the same run decided for it', async () => {
      const users = await Promise.all([0, 1, 2].map(() => putUser(t, hr, userBody({ fields: { department: 'Engineering' } }))));
      // Paused groups move no one; turned back on behind the API, so that only the full sync brings them in line.
      const engineers = await automatic({ all: [dept('Engineering')] }, { paused: true });
      const level2 = await automatic({ all: [memberOf(engineers.id)] }, { paused: true });
      const level3 = await automatic({ not: memberOf(level2.id, false) }, { paused: true });
      await t.service.database.db.collection('groups').updateMany({ _id: { $in: [engineers.id, level2.id, level3.id] } } as never, { $set: { paused: false } });
      const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 2 }).expect(202);
      await waitForJob(t, admin, started.body.jobId as string, { timeoutMs: 30_000 });
      for (const g of [engineers, level2, level3]) expect(await stored(g.id), g.name as string).to.include.members(users.map((u) => `${u}:rule`));
      const reasons = (await historyOf(t, admin, level3.id)).filter((h) => users.includes(h.externalId)).map((h) => h.reason);
      expect(reasons).to.deep.equal(users.map(() => `matches rule v1: joined ${level2.name as string}`));
    });
  });

  describe('when a rule would close a cycle of groups, or names a group that does not exist', () => {
    it('then saving and validating refuse it, naming the cycle, and nothing changes', async () => {
      const a = await manual();
      const one = await automatic({ all: [memberOf(a.id)] });
      const two = await automatic({ all: [memberOf(one.id)] });
      const three = await automatic({ all: [memberOf(two.id)] });
      // A cycle of one: a group naming itself.
      for (const [group, target, cycle] of [
        [one, one, `${one.id} → ${one.id}`],
        [one, two, `${one.id} → ${two.id} → ${one.id}`],
        [one, three, `${one.id} → ${three.id} → ${two.id} → ${one.id}`],
      ] as const) {
        const res = await putRule(group.id, { any: [dept('Sales'), memberOf(target.id)] }).expect(400);
        expect(res.body.errors).to.have.length(1);
        expect(res.body.errors[0].path).to.equal('rule.conditions.any[1].params.group');
        expect(res.body.errors[0].message).to.contain(cycle);
        const checked = await validate({ any: [dept('Sales'), memberOf(target.id)] }, group.id);
        expect(checked.body.valid).to.equal(false);
        expect(checked.body.errors[0].path).to.equal('conditions.any[1].params.group');
        expect(checked.body.errors[0].message).to.contain(cycle);
      }
      expect((await getGroup(t, admin, one.id)).ruleVersion).to.equal(1);
      expect((await t.api.get(`/api/v1/groups/${one.id}/rule/versions`).set(admin).expect(200)).body.items).to.have.length(1);
      // Without `group`, validate cannot know whose rule it is: the same rule is valid.
      expect((await validate({ all: [memberOf(three.id)] })).body.valid).to.equal(true);

      const unknown = 'grp_0123456789abcdef';
      const created = await t.api.post('/api/v1/groups').set(admin).send({ name: uniq('Bad '), type: 'automatic', rule: { conditions: { all: [memberOf(unknown)] } } }).expect(400);
      expect(created.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['rule.conditions.all[0].params.group']);
      const invalid = await validate({ all: [dept('Sales'), memberOf('grp_nope')] });
      expect(invalid.body).to.include({ valid: false });
      expect(invalid.body.errors.map((e: { path: string }) => e.path)).to.deep.equal(['conditions.all[1].params.group']);
    });
  });

  describe('when a group another rule names is deleted', () => {
    it('then it is a 409 naming those groups, which GET shows as usedBy, and the group stays', async () => {
      const base = await manual();
      const user = await putUser(t, hr, userBody());
      await addByHand(base.id, user);
      const first = await automatic({ all: [memberOf(base.id)] });
      const second = await automatic({ any: [memberOf(base.id), dept('Engineering')] });
      const view = await getGroup(t, admin, base.id);
      expect(view.usedBy).to.deep.equal([{ id: first.id, name: first.name }, { id: second.id, name: second.name }].sort((x, y) => String(x.name).localeCompare(String(y.name))));
      const res = await t.api.delete(`/api/v1/groups/${base.id}`).set(admin).expect(409);
      expect(res.body.detail).to.contain(first.id).and.to.contain(second.id);
      expect(await stored(base.id)).to.deep.equal([`${user}:manual`]);
      // Once no rule names it, it goes.
      await putRule(first.id, { all: [dept('Sales')] }).expect(200);
      await putRule(second.id, { all: [dept('Sales')] }).expect(200);
      expect((await getGroup(t, admin, base.id)).usedBy).to.deep.equal([]);
      await t.api.delete(`/api/v1/groups/${base.id}`).set(admin).expect(204);
    });
  });
});
