// The memberOf fact: validated (shape, existing group), evaluated by the compiled predicate exactly as
// json-rules-engine evaluates it, never narrowing the database filter, recorded in what a rule uses and reads, and
// the group graph built from such rules (dependents, order, cycles).
import { expect } from 'chai';
import { compileRule, createEngine, validateRule } from '../../../src/rules/index.js';
import type { RuleDocument, UserFacts } from '../../../src/rules/index.js';
import { GroupGraph, graphIssues, referencesOf } from '../../../src/groups/group-graph.js';
import { ruleReads } from '../../../src/membership/rule-reads.js';
import { GROUP_IDS, NOWS, genRule, genUser, prng, withMemberships } from './support/generate.js';
import { factsOf, genStoredUser } from './support/stored-user.js';
import { matches } from './support/mongo-match.js';

const A = 'grp_00000000000000a1';
const B = 'grp_00000000000000b2';
const C = 'grp_00000000000000c3';
const ctx = { fields: new Map(), courses: new Set<string>(), groups: new Map([[A, 'Sales'], [B, 'VIP']]) };
const member = (rule: RuleDocument, groups: string[]): boolean =>
  compileRule(rule).predicate({ ...baseUser, memberOf: (g) => groups.includes(g) }, NOWS[0]!);
const baseUser: UserFacts = { externalId: 'u1', email: 'a@x.io', firstName: 'A', lastName: 'B', type: 'learner', status: 'active', fields: {}, enrollments: {} };
const of = (group: string, value: boolean, operator = 'equal'): RuleDocument => ({ conditions: { all: [{ fact: 'memberOf', params: { group }, operator, value }] } });

describe('rules: the memberOf fact', () => {
  describe('when a rule naming groups is validated', () => {
    it('then a well-formed condition naming an existing group is valid', () => {
      expect(validateRule(of(A, true), ctx)).to.deep.equal({ valid: true, errors: [], warnings: [] });
      expect(validateRule(of(B, false, 'not:equal'), ctx).valid).to.equal(true);
    });
    const cases: Array<[string, unknown, string]> = [
      ['the group is unknown', { fact: 'memberOf', params: { group: C }, operator: 'equal', value: true }, 'conditions.all[0].params.group'],
      ['the group id is malformed', { fact: 'memberOf', params: { group: 'Sales' }, operator: 'equal', value: true }, 'conditions.all[0].params.group'],
      ['params are missing', { fact: 'memberOf', operator: 'equal', value: true }, 'conditions.all[0].params'],
      ['a path is given', { fact: 'memberOf', params: { group: A }, path: '$.x', operator: 'equal', value: true }, 'conditions.all[0].path'],
      ['the operator is not equal', { fact: 'memberOf', params: { group: A }, operator: 'includesText', value: 'x' }, 'conditions.all[0].operator'],
      ['the value is not a boolean', { fact: 'memberOf', params: { group: A }, operator: 'equal', value: 'yes' }, 'conditions.all[0].value'],
    ];
    for (const [name, leaf, path] of cases) {
      it(`then ${name} is an error naming ${path}`, () => {
        const result = validateRule({ conditions: { all: [leaf] } }, ctx);
        expect(result.valid).to.equal(false);
        expect(result.errors.map((e) => e.path)).to.include(path);
      });
    }
  });

  describe('when it is evaluated', () => {
    it('then it reads the lookup the facts carry, and a user without one is a member of nothing', () => {
      expect(member(of(A, true), [A])).to.equal(true);
      expect(member(of(A, true), [B])).to.equal(false);
      expect(member(of(A, false), [B])).to.equal(true);
      expect(compileRule(of(A, false)).predicate(baseUser, NOWS[0]!)).to.equal(true);
      expect(compileRule(of(A, true)).predicate(baseUser, NOWS[0]!)).to.equal(false);
    });

    it('then "members of A who are not in B" is a negation beside it', () => {
      const rule: RuleDocument = { conditions: { all: [{ fact: 'memberOf', params: { group: A }, operator: 'equal', value: true }, { not: { fact: 'memberOf', params: { group: B }, operator: 'equal', value: true } }] } };
      expect([member(rule, [A]), member(rule, [A, B]), member(rule, [B]), member(rule, [])]).to.deep.equal([true, false, false, false]);
    });

    it('then 3,000 random rules with memberOf leaves agree with json-rules-engine on users with memberships', async () => {
      const r = prng(20_261_205);
      let disagreements = 0;
      let memberOfLeaves = 0;
      let matched = 0;
      for (let i = 0; i < 500; i++) {
        const now = r.pick(NOWS);
        const rule = genRule(r, now.getTime(), { maxDepth: 4, decorate: 0.2, memberOf: 0.35 });
        memberOfLeaves += JSON.stringify(rule).split('"memberOf"').length - 1;
        const { predicate } = compileRule(rule);
        for (let j = 0; j < 6; j++) {
          const user = withMemberships(r, genUser(r, now.getTime(), false));
          const { results } = await createEngine(rule, user, now).run();
          const compiled = predicate(user, now);
          if (compiled) matched++;
          if (compiled !== results.length > 0) disagreements++;
        }
      }
      expect(disagreements).to.equal(0);
      expect(memberOfLeaves).to.be.greaterThan(300);
      expect(matched / 3000).to.be.within(0.1, 0.9);
    });
  });

  describe('when a rule with memberOf is compiled', () => {
    it('then it records the groups it uses, reads memberOf.<group>, and does not narrow the users filter', () => {
      const rule: RuleDocument = { conditions: { all: [{ fact: 'memberOf', params: { group: A }, operator: 'equal', value: true }, { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } };
      const compiled = compileRule(rule);
      expect([...compiled.uses.groups]).to.deep.equal([A]);
      expect([...ruleReads(rule).paths].sort()).to.deep.equal([`memberOf.${A}`, 'type']);
      // Only the user part narrows: memberships are not on the user document.
      expect(compiled.mongoFilter(NOWS[0]!)).to.deep.equal({ type: { $eq: 'staff' } });
      expect(compileRule(of(A, true)).mongoFilter(NOWS[0]!)).to.equal(null);
      expect(compileRule({ conditions: { not: of(A, true).conditions } }).mongoFilter(NOWS[0]!)).to.equal(null);
    });

    it('then, for random rules with memberOf leaves (and their negation), every user the predicate accepts, whatever their memberships, matches the filter', () => {
      const r = prng(31);
      let accepted = 0;
      const failures: string[] = [];
      for (let i = 0; i < 600; i++) {
        const at = r.pick(NOWS);
        const generated = genRule(r, at.getTime(), { maxDepth: 4, decorate: 0.2, memberOf: 0.35 });
        for (const candidate of [generated, { conditions: { not: generated.conditions } } as RuleDocument]) {
          const compiled = compileRule(candidate);
          const filter = compiled.mongoFilter(at);
          for (let j = 0; j < 6; j++) {
            const doc = genStoredUser(r, at.getTime());
            if (!compiled.predicate(withMemberships(r, factsOf(doc)), at)) continue;
            accepted++;
            if (filter && !matches(doc, filter) && failures.length < 3) failures.push(`rule ${JSON.stringify(candidate)}\nfilter ${JSON.stringify(filter)}`);
          }
        }
      }
      expect(failures, failures.join('\n\n')).to.deep.equal([]);
      expect(accepted).to.be.greaterThan(1000);
    });
  });
});

describe('groups: the dependency graph', () => {
  const D = 'grp_00000000000000d4';
  // B names A, C names B and A, D names nothing.
  const graph = new GroupGraph([
    { id: C, name: 'Gamma', references: [B, A] },
    { id: A, name: 'Alpha', references: [] },
    { id: B, name: 'Beta', references: [A] },
    { id: D, name: 'Delta', references: [] },
  ]);

  it('then dependents come transitively and in dependency order, and usedBy lists direct referrers by name', () => {
    expect(graph.dependentsOf([A])).to.deep.equal([B, C]);
    expect(graph.dependentsOf([B])).to.deep.equal([C]);
    expect(graph.dependentsOf([D])).to.deep.equal([]);
    expect(graph.sorted([C, B, A, D])).to.deep.equal([A, D, B, C]);
    expect(graph.usedBy(A)).to.deep.equal([{ id: B, name: 'Beta' }, { id: C, name: 'Gamma' }]);
  });

  it('then cycles of one, two and three groups are found and named from the group saved', () => {
    expect(graph.cycleThrough(D, [D])).to.deep.equal([D, D]);
    expect(graph.cycleThrough(A, [B])).to.deep.equal([A, B, A]);
    expect(graph.cycleThrough(A, [C])).to.deep.equal([A, C, B, A]);
    expect(graph.cycleThrough(D, [A, B])).to.equal(null);
  });

  it('then the issue names the condition that starts the cycle and the cycle itself', () => {
    const rule: RuleDocument = { conditions: { any: [{ fact: 'email', operator: 'exists', value: true }, { fact: 'memberOf', params: { group: C }, operator: 'equal', value: true }] } };
    expect(referencesOf(rule)).to.deep.equal([{ group: C, path: 'conditions.any[1]' }]);
    const [issue] = graphIssues(rule, A, graph);
    expect(issue!.path).to.equal('conditions.any[1].params.group');
    expect(issue!.message).to.contain(`${A} → ${C} → ${B} → ${A}`);
    expect(graphIssues(rule, D, graph)).to.deep.equal([]);
  });

  it('then GROUP_IDS are valid group ids', () => {
    for (const id of GROUP_IDS) expect(validateRule(of(id, true), { fields: new Map() }).valid).to.equal(true);
  });
});
