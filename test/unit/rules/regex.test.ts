import { expect } from 'chai';
import { MAX_PROGRAM_SIZE, checkPattern, compilePattern } from '../../../src/rules/regex.js';
import { prng } from './support/generate.js';

function compiled(pattern: string) {
  const result = compilePattern(pattern);
  if (!result.ok) throw new Error(`${pattern} refused: ${result.reason}`);
  return result.regex;
}

describe('rules: regular expressions for "matches" (RE2)', () => {
  describe('when a pattern is common and safe, but a backtracking engine could be slow on it', () => {
    for (const pattern of ['.*@contractor\\..*', 'a.*b.*c', '^.*foo.*$', 'foo.*bar.*baz', '\\w+\\s*\\w+$', '(?i)@CONTRACTOR\\.']) {
      it(`then ${pattern} is accepted`, () => {
        expect(checkPattern(pattern)).to.equal(null);
      });
    }
  });

  describe('when a pattern is one of the catastrophic-backtracking classics', () => {
    // Each value, `unit` repeated then `tail`, makes a backtracking engine try every way of splitting the text.
    const classics: Array<[string, string, string, boolean]> = [
      ['(a+)+$', 'a', '!', false],
      ['(a|a)*b', 'a', '!', false],
      ['(.*a){20}$', 'a', '!', false],
      ['(.*a){20}', 'a', '!', true],
      ['^(a|aa)+$', 'a', '!', false],
      ['(\\w+\\s?)*$', 'word ', '!!!!!', true],
      ['^(([a-z])+.)+[A-Z]([a-z])+$', 'a', '!', false],
      ['^(a?){25}a{25}$', 'a', '', false],
    ];
    const adversarial = (unit: string, tail: string, length: number): string =>
      unit.repeat(Math.ceil((length - tail.length) / unit.length)) + tail;
    for (const [pattern, unit, tail, expected] of classics) {
      it(`then ${pattern} is accepted and answers ${expected} on 1,000- and 100,000-character adversarial values`, () => {
        expect(checkPattern(pattern)).to.equal(null);
        const re = compiled(pattern);
        for (const length of [1000, 100_000]) {
          const value = adversarial(unit, tail, length);
          expect(value.length).to.be.at.least(length);
          expect(re.test(value), `${value.length} characters`).to.equal(expected);
        }
      });
    }
  });

  describe('when a pattern was accepted before RE2 (the subset JavaScript, PCRE and RE2 share)', () => {
    const earlier = [
      '^[A-Z]{2}-\\d{3}$', '@(acme|example)\\.com$', '^[^@]+@acme\\.com$', '^[\\w.+-]+@[\\w-]+(\\.[\\w-]+)*$', '^\\d{4}-\\d{2}-\\d{2}$',
      '^(DRV|FLT)-\\d+$', '^Tutorial_\\d+\\|(MON|TUE|WED|THU|FRI)\\|', '^(?:Mr|Mrs|Ms)\\.? ', 'manager', '\\.(edu|ac\\.uk)$', '[İi]stanbul',
      '\\x41\\t\\/',
    ];
    for (const pattern of earlier) {
      it(`then ${pattern} is still accepted`, () => {
        expect(checkPattern(pattern)).to.equal(null);
      });
    }

    it('then random patterns of that subset answer as JavaScript\'s RegExp (u flag) did, so stored rules keep their meaning', () => {
      const r = prng(11);
      const atoms = ['a', 'b', '[ab]', '\\w', '\\d', '.', '[^b]', 'x', '\\s', '-', '\\.', '[a-c]', '\\b'];
      const gen = (depth: number): string => {
        let out = '';
        for (let i = 0, n = 1 + r.int(4); i < n; i++) {
          let atom = depth < 3 && r.chance(0.3) ? `(${gen(depth + 1)}${r.chance(0.4) ? `|${gen(depth + 1)}` : ''})` : r.pick(atoms);
          if (r.chance(0.5)) atom += r.pick(['*', '+', '?', '{1,3}', '{2}', '{0,4}', '*?']);
          out += atom;
        }
        return out;
      };
      // Short texts, so that JavaScript's backtracking stays quick; ASCII and \n, where both read \s, \w, . alike.
      const texts = ['', 'a', 'ab', 'ba', 'aab-x', 'a b', 'x.y', '12-ab', 'a\nb', 'abcabc', 'bbb', '-a-', 'a1 b2.c3', 'xa xb'];
      let compared = 0;
      const differences: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const pattern = (r.chance(0.5) ? '^' : '') + gen(0) + (r.chance(0.5) ? '$' : '');
        let js: RegExp;
        try {
          js = new RegExp(pattern, 'u');
        } catch {
          continue; // such as \b+: JavaScript refuses it, so no stored rule has it
        }
        const result = compilePattern(pattern);
        if (!result.ok) {
          // RE2 reads all of this syntax; only the compiled-size bound can refuse a pattern of it.
          expect(result.reason, pattern).to.contain('RE2 instructions');
          continue;
        }
        const re = result.regex;
        for (const text of texts) {
          compared++;
          if (re.test(text) !== js.test(text) && differences.length < 5) differences.push(`${pattern} on ${JSON.stringify(text)}`);
        }
      }
      expect(differences).to.deep.equal([]);
      expect(compared).to.be.greaterThan(600 * texts.length);
    });
  });

  describe('when a pattern uses RE2 syntax', () => {
    it('then inline flags, Unicode classes, named groups and \\z work as RE2 defines them', () => {
      expect(compiled('(?i)@contractor\\.').test('ana@CONTRACTOR.io')).to.equal(true);
      expect(compiled('@contractor\\.').test('ana@CONTRACTOR.io')).to.equal(false);
      expect(compiled('^\\pL+$').test('Ünïcödé')).to.equal(true);
      expect(compiled('(?P<year>\\d{4})').test('in 2024')).to.equal(true);
      expect(compiled('end\\z').test('the end')).to.equal(true);
      // RE2's classes are ASCII: \d does not match other digits.
      expect(compiled('^\\d$').test('٣')).to.equal(false);
      // Without (?s), . does not match a newline; without (?m), $ is the end of the text.
      expect(compiled('a.b').test('a\nb')).to.equal(false);
      expect(compiled('(?s)a.b').test('a\nb')).to.equal(true);
      expect(compiled('a$').test('a\nb')).to.equal(false);
    });
  });

  describe('when a pattern is outside RE2 syntax', () => {
    const refused: Array<[string, string]> = [
      ['(a)\\1', 'invalid escape sequence: `\\1`'],
      ['(?<y>\\d{4})\\k<y>', 'invalid escape sequence: `\\k`'],
      ['a(?=b)', 'invalid or unsupported Perl syntax: `(?=`'],
      ['a(?!b)', 'invalid or unsupported Perl syntax: `(?!`'],
      ['(?<!a)b', 'not valid RE2 syntax'],
      ['a*+', 'invalid nested repetition operator: `*+`'],
      ['a{1001}', 'invalid repeat count: `{1001}`'],
      ['(a{100}){20}', 'invalid repeat count'],
      ['(a', 'missing closing ): `(a`'],
      ['a)', 'unexpected ): `a)`'],
      ['[z-a]', 'invalid character class range: `z-a`'],
      ['*a', 'missing argument to repetition operator: `*`'],
    ];
    for (const [pattern, why] of refused) {
      it(`then ${pattern} is refused, naming RE2 syntax and RE2's reason`, () => {
        const reason = checkPattern(pattern);
        expect(reason).to.be.a('string').and.contain('not valid RE2 syntax (no backreferences or lookaround)').and.contain(why);
      });
    }
  });

  describe('when a pattern is too big', () => {
    it(`then over 1,000 characters or ${MAX_PROGRAM_SIZE} compiled instructions it is refused, saying so`, () => {
      expect(checkPattern('a'.repeat(1001))).to.contain('limited to 1000 characters');
      expect(checkPattern('.{0,249}')).to.equal(null);
      expect(checkPattern('.{0,250}')).to.contain(`compiles to 502 RE2 instructions, more than ${MAX_PROGRAM_SIZE}`);
      expect(checkPattern('\\pL{1000}')).to.contain('use smaller repetition counts');
    });
  });
});
