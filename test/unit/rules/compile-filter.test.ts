import { expect } from 'chai';
import { compileRule } from '../../../src/rules/index.js';
import { useTimeZone } from '../../../src/rules/dates.js';
import type { RuleDocument, RuleValue } from '../../../src/rules/index.js';
import { NOWS, dateStrings, genRule, prng } from './support/generate.js';
import { EMITTED_OPERATORS, matches, operatorsIn, regexesIn, toJsRegex } from './support/mongo-match.js';
import { factsOf, genStoredUser } from './support/stored-user.js';

const now = new Date('2025-01-20T13:45:10.123Z');
const rule = (conditions: RuleDocument['conditions']): RuleDocument => ({ conditions });
const factsBase = {
  _id: 'u1',
  email: 'a@b.c',
  emailLower: 'a@b.c',
  firstName: 'A',
  lastName: 'B',
  type: 'staff',
  status: 'active',
  fields: {},
  enrollments: {},
};
const filterOf = (conditions: RuleDocument['conditions'], at = now) => compileRule(rule(conditions)).mongoFilter(at);

describe('rules: mongoFilter', () => {
  describe('when a rule is built from plain conditions', () => {
    it('then equality, lists and existence become exact queries on the stored paths', () => {
      expect(filterOf({ all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] })).to.deep.equal({
        type: { $eq: 'staff' },
      });
      expect(filterOf({ all: [{ fact: 'user', path: '$.externalId', operator: 'in', value: ['a', 'b'] }] })).to.deep.equal({
        _id: { $in: ['a', 'b'] },
      });
      expect(filterOf({ all: [{ fact: 'field', params: { key: 'dept' }, operator: 'notIn', value: ['x'] }] })).to.deep.equal({
        'fields.dept': { $nin: ['x'] },
      });
      expect(filterOf({ all: [{ fact: 'enrollment', params: { course: 'C1' }, operator: 'exists', value: true }] })).to.deep.equal({
        'enrollments.C1': { $exists: true, $ne: null },
      });
    });

    it('then "not" negates exact parts with $nor', () => {
      expect(filterOf({ not: { fact: 'enrollment', params: { course: 'C1' }, operator: 'exists', value: true } })).to.deep.equal({
        $nor: [{ 'enrollments.C1': { $exists: true, $ne: null } }],
      });
    });

    it('then enrolment dates compare as Dates, relative to now', () => {
      const f = filterOf({
        all: [{ fact: 'enrollment', params: { course: 'C1' }, path: '$.completedAt', operator: 'withinLastDays', value: 7 }],
      });
      expect(f).to.deep.equal({
        'enrollments.C1.completedAt': { $gte: new Date('2025-01-13T13:45:10.123Z'), $lte: now },
      });
    });

    it('then text operators become escaped regular expressions, case spelled out for includesText', () => {
      expect(filterOf({ all: [{ fact: 'email', operator: 'endsWith', value: '@a.com' }] })).to.deep.equal({
        email: { $regex: '@a\\.com\\z' },
      });
      expect(filterOf({ all: [{ fact: 'email', operator: 'startsWith', value: 'a(b' }] })).to.deep.equal({
        email: { $regex: '^a\\(b' },
      });
      const f = filterOf({ all: [{ fact: 'email', operator: 'includesText', value: 'Ki' }] }) as { email: { $regex: string } };
      expect(f.email.$regex).to.equal('[kK\u212A][iI\u0130]');
    });

    it('then a part it cannot narrow (matches, decorators) leaves the rule unnarrowed, or drops out of an "all"', () => {
      const m = { fact: 'email', operator: 'matches', value: '^a' };
      expect(filterOf({ all: [m] })).to.equal(null);
      expect(filterOf({ any: [m, { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] })).to.equal(null);
      expect(filterOf({ all: [m, { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] })).to.deep.equal({
        type: { $eq: 'staff' },
      });
    });

    it('then an empty "any", true in json-rules-engine, does not narrow', () => {
      expect(filterOf({ any: [] })).to.equal(null);
      expect(filterOf({ not: { any: [] } })).to.deep.equal({ _id: { $in: [] } });
    });
  });

  describe('when a date operator reads a text field holding dates of every form', () => {
    // Calendar dates are days in TIMEZONE: zones far east and west of UTC, and ones with daylight saving.
    const ZONES = ['UTC', 'Europe/Lisbon', 'Australia/Sydney', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Sao_Paulo'];
    afterEach(() => useTimeZone('UTC'));
    for (const zone of ZONES) it(`then each date the predicate accepts lies inside the string range of the filter (TIMEZONE ${zone})`, () => {
      useTimeZone(zone);
      let accepted = 0;
      for (const at of [...NOWS, new Date('2025-01-20T23:59:59.999Z'), new Date('2025-03-30T00:30:00Z'), new Date('2025-10-26T01:30:00Z'), new Date('2025-04-05T15:30:00Z')]) {
        const dates = dateStrings(at.getTime());
        const cases: Array<[string, RuleValue]> = [
          ...dates.flatMap((d): Array<[string, RuleValue]> => [['before', d], ['after', d]]),
          ...[0, 0.5, 1, 7, 30, 365].flatMap((n): Array<[string, RuleValue]> => [['withinLastDays', n], ['moreThanDaysAgo', n]]),
        ];
        for (const [operator, value] of cases) {
          for (const negate of [false, true]) {
            const leaf = { fact: 'field', params: { key: 'd' }, operator: `${negate ? 'not:' : ''}${operator}`, value };
            let compiled;
            try {
              compiled = compileRule(rule({ all: [leaf] }));
            } catch {
              continue; // an invalid date value: refused, nothing to check
            }
            const filter = compiled.mongoFilter(at);
            for (const fact of [...dates, `${dates[3]!.slice(0, 10)}T23:30:00-23:59`, `${dates[3]!.slice(0, 10)}T00:10:00+23:59`]) {
              const doc = { fields: { d: fact } };
              if (!compiled.predicate(factsOf({ ...factsBase, fields: { d: fact } }), at)) continue;
              accepted++;
              expect(filter === null || matches(doc, filter), `${JSON.stringify(leaf)} on ${fact}: ${JSON.stringify(filter)}`).to.equal(true);
            }
          }
        }
      }
      expect(accepted).to.be.greaterThan(1000);
    });
  });

  describe('when a rule uses matches, whose RE2 patterns neither database is trusted to read alike', () => {
    // MongoDB runs PCRE and FerretDB Go's RE2: (?i) folding, \pL, \z, (?s) and . differ or do not exist there, so
    // a pattern is never pushed down; the filter must still admit every user the predicate accepts, negated too.
    const PATTERNS = ['.*@contractor\\..*', '(?i)@CONTRACTOR\\.', 'a.*b.*c', '^\\pL+@', 'io\\z', '(?s)^.+$', '(a+)+$', '^(?i:ANA)@'];
    const EMAILS = ['ana@contractor.io', 'Ana@CONTRACTOR.io', 'ana@contractors.io', 'abc@x.io', 'Ünal@x.de', 'bo@x.io\n', '', 'aaaa'];
    it('then no pattern reaches the filter, and every accepted user matches it, alone, beside exact parts and under "not"', () => {
      let accepted = 0;
      for (const pattern of PATTERNS) {
        const m = { fact: 'email', operator: 'matches', value: pattern };
        const staffOnly = { fact: 'user', path: '$.type', operator: 'equal', value: 'staff' };
        const shapes: Array<RuleDocument['conditions']> = [
          { all: [m] },
          { all: [m, staffOnly] },
          { any: [m, staffOnly] },
          { not: { all: [m, staffOnly] } },
          { all: [{ not: m }, staffOnly] },
          { any: [{ fact: 'user', path: '$.lastName', operator: 'matches', value: pattern }, { not: m }] },
        ];
        for (const conditions of shapes) {
          const compiled = compileRule(rule(conditions));
          const filter = compiled.mongoFilter(now);
          if (filter) expect(regexesIn(filter), JSON.stringify(filter)).to.not.include(pattern);
          for (const email of EMAILS) {
            for (const type of ['staff', 'learner']) {
              const doc = { ...factsBase, email, emailLower: email.toLowerCase(), type, lastName: email };
              if (!compiled.predicate(factsOf(doc), now)) continue;
              accepted++;
              expect(filter === null || matches(doc, filter), `${JSON.stringify(conditions)} on ${email}: ${JSON.stringify(filter)}`).to.equal(true);
            }
          }
        }
      }
      expect(accepted).to.be.greaterThan(200);
    });
  });

  describe('when generated rules are checked against generated stored users', () => {
    it('then every user the predicate accepts matches the filter (and the negated rule’s), using only portable operators', function () {
      this.timeout(60_000);
      const r = prng(7);
      let accepted = 0;
      let narrowed = 0;
      const failures: string[] = [];
      for (let i = 0; i < 1500; i++) {
        const at = r.pick(NOWS);
        const generated = genRule(r, at.getTime());
        for (const candidate of [generated, rule({ not: generated.conditions })]) {
          const compiled = compileRule(candidate);
          const filter = compiled.mongoFilter(at);
          if (filter) {
            narrowed++;
            for (const op of operatorsIn(filter)) expect(EMITTED_OPERATORS.has(op), op).to.equal(true);
            for (const re of regexesIn(filter)) expect(() => toJsRegex(re)).not.to.throw();
          }
          for (let j = 0; j < 8; j++) {
            const doc = genStoredUser(r, at.getTime());
            if (!compiled.predicate(factsOf(doc), at)) continue;
            accepted++;
            if (filter && !matches(doc, filter) && failures.length < 3) {
              failures.push(`rule ${JSON.stringify(candidate)}\nfilter ${JSON.stringify(filter)}\ndoc ${JSON.stringify(doc)}`);
            }
          }
        }
      }
      expect(failures, failures.join('\n\n')).to.deep.equal([]);
      expect(accepted).to.be.greaterThan(3000);
      expect(narrowed).to.be.greaterThan(500);
    });
  });
});
