import { expect } from 'chai';
import { checkPattern } from '../../../src/rules/safe-regex.js';
import { prng } from './support/generate.js';

describe('rules: regular expressions for "matches"', () => {
  describe('when a pattern is one of the catastrophic-backtracking classics', () => {
    const classics: Array<[string, string]> = [
      ['(a+)+$', 'nested quantifiers'],
      ['(a*)*$', 'can match empty text'],
      ['(a|a)*$', 'same character'],
      ['(a|aa)+$', 'same character'],
      ['(\\w+\\s?)*$', 'nested quantifiers'],
      ['^(\\w+\\s?)*$', 'nested quantifiers'],
      ['(.*a){12}', 'nested quantifiers'],
      ['(x+x+)+y', 'nested quantifiers'],
      ['^(([a-z])+.)+[A-Z]([a-z])+$', 'nested quantifiers'],
      ['(a?){25}a{25}', 'can match empty text'],
      ['(\\d|\\d\\d)+$', 'same character'],
      ['^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$', 'nested quantifiers'],
      ['(\\.\\w+\\w+)*$', 'nested quantifiers'],
      ['\\d+\\d+$', 'follow each other'],
      ['\\w+\\s*\\w+$', 'follow each other'],
      ['.*.*=.*', 'follow each other'],
      ['foo.*bar.*baz', 'three or more unbounded'],
      ['^.*a.*b.*c$', 'three or more unbounded'],
      ['(-|a[ab]*a[ab]*)x', 'three or more unbounded'],
    ];
    for (const [pattern, why] of classics) {
      it(`then ${pattern} is refused, saying why (${why})`, () => {
        expect(checkPattern(pattern)).to.be.a('string').and.contain(why);
      });
    }
  });

  describe('when a pattern uses syntax outside what JavaScript, PCRE and RE2 share', () => {
    const refused: Array<[string, string]> = [
      ['(\\w)\\1', 'backreferences'],
      ['(?<y>\\d{4})\\k<y>', 'named groups'],
      ['a(?=b)', 'lookahead'],
      ['(?<!a)b', 'lookbehind'],
      ['a*+', 'possessive'],
      ['(?>a+)b', 'atomic'],
      ['(?i)abc', 'inline flags'],
      ['\\p{L}+', 'property'],
      ['\\u00e9', '\\u escapes'],
      ['\\Aabc\\Z', 'not supported'],
      ['[[:alpha:]]', "'['"],
      ['a{1001}', 'above 1000'],
      ['(a{100}){20}', 'multiply'],
      ['a{', "'{'"],
      ['(a', "unbalanced '('"],
      ['a)', "unbalanced ')'"],
      ['[z-a]', 'out of order'],
      ['*a', 'nothing to repeat'],
    ];
    for (const [pattern, why] of refused) {
      it(`then ${pattern} is refused (${why})`, () => {
        expect(checkPattern(pattern)).to.be.a('string').and.contain(why);
      });
    }
  });

  describe('when a pattern is ordinary', () => {
    const ordinary = [
      '^[A-Z]{2}-\\d{3}$',
      '@(acme|example)\\.com$',
      '^[^@]+@acme\\.com$',
      '^[\\w.+-]+@[\\w-]+(\\.[\\w-]+)*$',
      '^\\d{4}-\\d{2}-\\d{2}$',
      '^(DRV|FLT)-\\d+$',
      '^Tutorial_\\d+\\|(MON|TUE|WED|THU|FRI)\\|',
      '^(?:Mr|Mrs|Ms)\\.? ',
      'manager',
      '\\.(edu|ac\\.uk)$',
      '^.*foo.*$',
      '[İi]stanbul',
      '\\x41\\t\\/',
    ];
    for (const pattern of ordinary) {
      it(`then ${pattern} is accepted`, () => {
        expect(checkPattern(pattern)).to.equal(null);
      });
    }
  });

  describe('when random patterns pass the check', () => {
    it('then none of them takes long on 1,000-character adversarial text', function () {
      this.timeout(60_000);
      const r = prng(11);
      const atoms = ['a', 'b', '[ab]', '\\w', '\\d', '.', '[^b]', 'x', '\\s', '-'];
      const gen = (depth: number): string => {
        let s = '';
        for (let i = 0, n = 1 + r.int(4); i < n; i++) {
          let atom = depth < 3 && r.chance(0.3) ? `(${gen(depth + 1)}${r.chance(0.4) ? `|${gen(depth + 1)}` : ''})` : r.pick(atoms);
          if (r.chance(0.5)) atom += r.pick(['*', '+', '?', '{1,3}', '{2}', '{0,20}', '*?']);
          s += atom;
        }
        return s;
      };
      const inputs = ['a'.repeat(999) + '!', 'ab'.repeat(499) + '!', 'a-'.repeat(500), 'x'.repeat(999) + ' ', 'a b '.repeat(250), '1'.repeat(999) + '\n'];
      let accepted = 0;
      let worst = { ms: 0, pattern: '' };
      for (let i = 0; i < 4000; i++) {
        const pattern = (r.chance(0.5) ? '^' : '') + gen(0) + (r.chance(0.5) ? '$' : '');
        if (checkPattern(pattern) !== null) continue;
        accepted++;
        const re = new RegExp(pattern, 'u');
        for (const input of inputs) {
          const start = performance.now();
          re.test(input);
          const ms = performance.now() - start;
          if (ms > worst.ms) worst = { ms, pattern };
        }
      }
      expect(accepted).to.be.greaterThan(1000);
      // Accepted patterns are at most quadratic: tens of milliseconds on this text, where the refused classics
      // take minutes or more.
      expect(worst.ms, worst.pattern).to.be.lessThan(300);
    });
  });
});
