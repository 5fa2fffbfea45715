import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, memberIds, putUser, uniq, userBody } from '../membership/membership-helpers.js';

describe('rules endpoints', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService('rules');
    const admin = await t.auth();
    await t.api.put('/api/v1/fields/department').set(admin).send({ label: 'Department', type: 'select', options: ['Sales', 'Ops'] }).expect(201);
    await t.api.put('/api/v1/fields/hireDate').set(admin).send({ label: 'Hire date', type: 'date' }).expect(201);
    await t.api.put('/api/v1/courses/DRV-101').set(admin).send({ title: 'Driver Safety' }).expect(201);
  });
  after(async () => t.stop());

  const completedDriverSafety = {
    conditions: { all: [{ fact: 'enrollment', params: { course: 'DRV-101' }, path: '$.status', operator: 'equal', value: 'completed' }] },
  };

  it('when a rule is valid against the directory, then {valid: true}', async () => {
    const res = await t.api.post('/api/v1/rules/validate').set(await t.auth('support')).send({ rule: completedDriverSafety }).expect(200);
    expect(res.body).to.deep.equal({ valid: true });
  });

  it('when a rule names an undefined field, a bad operator and a bad value, then each error is placed in the rule', async () => {
    const rule = {
      conditions: {
        any: [
          { fact: 'field', params: { key: 'salaryBand' }, operator: 'equal', value: 'B' },
          { fact: 'email', operator: 'sortOf', value: 'x' },
          { fact: 'field', params: { key: 'department' }, operator: 'in', value: 'Sales' },
        ],
      },
    };
    const res = await t.api.post('/api/v1/rules/validate').set(await t.auth()).send({ rule }).expect(200);
    expect(res.body.valid).to.equal(false);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths.some((p: string) => p.startsWith('conditions.any[0]'))).to.equal(true);
    expect(paths).to.include('conditions.any[1].operator');
    expect(paths).to.include('conditions.any[2].value');
  });

  it('when a rule names a course that does not exist, then it is valid with a warning', async () => {
    const rule = { conditions: { all: [{ fact: 'enrollment', params: { course: 'NOPE-1' }, path: '$.status', operator: 'equal', value: 'completed' }] } };
    const res = await t.api.post('/api/v1/rules/validate').set(await t.auth()).send({ rule }).expect(200);
    expect(res.body.valid).to.equal(true);
    expect(res.body.warnings[0].path).to.match(/^conditions\.all\[0\]/);
  });

  it('when a matches pattern is RE2 that a backtracking engine would choke on, then it is valid', async () => {
    const auth = await t.auth();
    for (const value of ['.*@contractor\\..*', 'a.*b.*c', '(?i)@CONTRACTOR\\.', '^(a+)+$']) {
      const rule = { conditions: { all: [{ fact: 'email', operator: 'matches', value }] } };
      const res = await t.api.post('/api/v1/rules/validate').set(auth).send({ rule }).expect(200);
      expect(res.body, value).to.deep.equal({ valid: true });
    }
  });

  it('when a matches pattern is outside RE2 syntax, then the error sits on the value and gives RE2 its reason', async () => {
    const rule = {
      conditions: {
        any: [
          { fact: 'email', operator: 'matches', value: '(a)\\1' },
          { fact: 'email', operator: 'someValue:matches', value: ['^a', 'a(?=b)'] },
        ],
      },
    };
    const res = await t.api.post('/api/v1/rules/validate').set(await t.auth()).send({ rule }).expect(200);
    expect(res.body.valid).to.equal(false);
    expect(res.body.errors).to.deep.equal([
      { path: 'conditions.any[0].value', message: 'pattern refused: not valid RE2 syntax (no backreferences or lookaround): invalid escape sequence: `\\1`' },
      { path: 'conditions.any[1].value[1]', message: 'pattern refused: not valid RE2 syntax (no backreferences or lookaround): invalid or unsupported Perl syntax: `(?=`' },
    ]);
  });

  it('when an automatic group matches emails case-insensitively with (?i), then exactly those users become members', async () => {
    const hr = await t.auth('hr-feed');
    const admin = await t.auth('admin');
    const tag = uniq('');
    const people = {
      upper: `ana.${tag}@CONTRACTOR.example`,
      lower: `bo.${tag}@contractor.example`,
      mixed: `cy.${tag}@Contractor.io`,
      near: `di.${tag}@contractors.example`,
      other: `ed.${tag}@staff.example`,
    };
    const ids: Record<string, string> = {};
    for (const [k, email] of Object.entries(people)) ids[k] = await putUser(t, hr, userBody({ externalId: `${k}${tag}`, email }));
    const rule = {
      conditions: {
        all: [
          { fact: 'email', operator: 'matches', value: '(?i)@CONTRACTOR\\.' },
          { fact: 'email', operator: 'includesText', value: tag },
        ],
      },
    };
    const group = await createGroup(t, admin, { type: 'automatic', rule });
    const expected = [ids.upper!, ids.lower!, ids.mixed!].sort();
    expect(await memberIds(t, admin, group.id)).to.deep.equal(expected);
    const stored = await t.service.database.db.collection('memberships').find({ group: group.id }).toArray();
    expect(stored.map((m) => m.externalId).sort()).to.deep.equal(expected);
    expect(stored.every((m) => m.source === 'rule')).to.equal(true);
    const storedRule = await t.service.database.db.collection('groups').findOne({ _id: group.id as never });
    expect(storedRule?.rule).to.deep.equal(rule);
  });

  it('when the body is not {rule}, then 400 names the field', async () => {
    const res = await t.api.post('/api/v1/rules/validate').set(await t.auth()).send({ conditions: {} }).expect(400);
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).to.have.members(['rule', 'conditions']);
    const dollar = await t.api.post('/api/v1/rules/validate').set(await t.auth()).send({ rule: { conditions: { $where: 'x' } } }).expect(400);
    expect(dollar.body.errors[0].path).to.equal('rule.conditions.$where');
  });

  it('then the catalogues come from the rules/ folder: operators, facts and at least 8 valid templates', async () => {
    const auth = await t.auth('viewer');
    const ops = await t.api.get('/api/v1/rules/operators').set(auth).expect(200);
    const names = ops.body.items.map((o: { name: string }) => o.name);
    for (const n of ['equal', 'notEqual', 'in', 'notIn', 'contains', 'doesNotContain', 'lessThan', 'greaterThanInclusive', 'includesText', 'startsWith', 'endsWith', 'matches', 'exists', 'before', 'after', 'withinLastDays', 'moreThanDaysAgo']) {
      expect(names, n).to.include(n);
    }
    const facts = await t.api.get('/api/v1/rules/facts').set(auth).expect(200);
    expect(facts.body.items.map((f: { name: string }) => f.name)).to.have.members(['email', 'user', 'field', 'enrollment', 'memberOf']);
    const templates = await t.api.get('/api/v1/rules/templates').set(auth).expect(200);
    expect(templates.body.items.length).to.be.at.least(8);
    await t.api.get('/api/v1/rules/templates').set(await t.auth('integration')).expect(403);
  });

  it('then /openapi.json carries the rule schema', async () => {
    const doc = await t.api.get('/openapi.json').expect(200);
    expect(doc.body.paths).to.have.property('/api/v1/rules/validate');
    expect(doc.body.components.schemas.RuleDocument.required).to.deep.equal(['conditions']);
  });
});
