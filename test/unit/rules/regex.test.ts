import { expect } from 'chai';
import { MAX_PROGRAM_SIZE, checkPattern, compilePattern } from '../../../src/rules/regex.js';

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
