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
  putUser,
  uniq,
  userBody,
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
      await patchUser(t, hr, ana, { fields: { department: 'People' } });
      expect([await stored(sales.id), await stored(salesNotVip.id), await stored(north.id)]).to.deep.equal([[`${bo}:rule`], [`${bo}:rule`], []]);
      expect(await counts(sales.id, salesNotVip.id, north.id)).to.deep.equal([1, 1, 0]);
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
