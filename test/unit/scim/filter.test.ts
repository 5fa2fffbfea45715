// The SCIM filter parser (RFC 7644 §3.4.2.2) by properties: any tree prints as text that parses back to the same
// tree; keywords parse in any case; precedence (not > and > or) and left association; value paths; and no input
// ever makes it throw anything but a 400 invalidFilter.
import { expect } from 'chai';
import fc from 'fast-check';
import { COMPARE_OPS, parseFilter, stringifyFilter, type Filter } from '../../../src/scim/filter.js';
import { ScimError } from '../../../src/scim/scim-error.js';
import { compileUserFilter } from '../../../src/scim/user-query.js';
import { matches } from '../../../src/scim/filter-eval.js';

const attrName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/).filter((s) => !['and', 'or', 'not', 'pr', 'true', 'false', 'null', ...COMPARE_OPS].includes(s.toLowerCase()));
const attrPath = fc.oneof(
  attrName,
  fc.tuple(attrName, attrName).map(([a, b]) => `${a}.${b}`),
  attrName.map((a) => `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:${a}`),
);
const compValue = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)), fc.boolean(), fc.constant(null));

const filterTree: fc.Arbitrary<Filter> = fc.letrec<{ filter: Filter; leaf: Filter }>((tie) => ({
  leaf: fc.oneof(
    fc.record({ op: fc.constantFrom(...COMPARE_OPS), path: attrPath, value: compValue }) as fc.Arbitrary<Filter>,
    fc.record({ op: fc.constant('pr' as const), path: attrPath }),
  ),
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.record({ op: fc.constantFrom('and' as const, 'or' as const), left: tie('filter'), right: tie('filter') }),
    fc.record({ op: fc.constant('not' as const), filter: tie('filter') }),
    fc.record({ op: fc.constant('valuePath' as const), path: attrName, filter: tie('leaf') }),
  ),
})).filter;

/** Keywords in random case: what clients other than Okta and Entra send. */
function recase(text: string, flips: boolean[]): string {
  let i = 0;
  return text.replace(/(?<=^|[\s(])(and|or|not|eq|ne|co|sw|ew|gt|ge|lt|le|pr)(?=[\s(]|$)/g, (w) => [...w].map((c) => (flips[i++ % flips.length] ? c.toUpperCase() : c)).join(''));
}

describe('SCIM filter parser', () => {
  it('when any filter tree is printed, then the text parses back to the same tree', () => {
    fc.assert(
      fc.property(filterTree, (tree) => {
        expect(parseFilter(stringifyFilter(tree))).to.deep.equal(tree);
      }),
      { numRuns: 500 },
    );
  });

  it('when the keywords of a printed filter are in any case, then it parses to the same tree', () => {
    fc.assert(
      fc.property(filterTree, fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }), (tree, flips) => {
        const text = stringifyFilter(tree);
        // Only keywords outside strings are flipped: a tree whose strings hold keyword-like words is skipped.
        fc.pre(!/"[^"]*\b(and|or|not|eq|ne|co|sw|ew|gt|ge|lt|le|pr)\b/i.test(text));
        expect(parseFilter(recase(text, flips))).to.deep.equal(tree);
      }),
      { numRuns: 300 },
    );
  });

  it('when and, or and not are mixed without parentheses, then not binds tightest, then and, then or, each to the left', () => {
    const a = { op: 'pr', path: 'a' } as const;
    const b = { op: 'pr', path: 'b' } as const;
    const c = { op: 'pr', path: 'c' } as const;
    expect(parseFilter('a pr or b pr and c pr')).to.deep.equal({ op: 'or', left: a, right: { op: 'and', left: b, right: c } });
    expect(parseFilter('a pr and b pr or c pr')).to.deep.equal({ op: 'or', left: { op: 'and', left: a, right: b }, right: c });
    expect(parseFilter('not (a pr) and b pr')).to.deep.equal({ op: 'and', left: { op: 'not', filter: a }, right: b });
    expect(parseFilter('a pr or b pr or c pr')).to.deep.equal({ op: 'or', left: { op: 'or', left: a, right: b }, right: c });
    expect(parseFilter('a pr and (b pr or c pr)')).to.deep.equal({ op: 'and', left: a, right: { op: 'or', left: b, right: c } });
  });

  it('when the precedence is evaluated on random truth values, then the parse agrees with and-before-or', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 2, maxLength: 6 }), fc.array(fc.constantFrom('and', 'or'), { minLength: 5, maxLength: 5 }), (values, ops) => {
        const text = values.map((_, i) => `v${i} eq true`).reduce((acc, term, i) => (i === 0 ? term : `${acc} ${ops[i - 1]} ${term}`), '');
        const resource = Object.fromEntries(values.map((v, i) => [`v${i}`, v]));
        // The same expression in JavaScript, whose && binds tighter than ||.
        const js = values.map(String).reduce((acc, v, i) => (i === 0 ? v : `${acc} ${ops[i - 1] === 'and' ? '&&' : '||'} ${v}`), '');
        expect(matches(resource, parseFilter(text))).to.equal(new Function(`return ${js};`)() as boolean);
      }),
      { numRuns: 300 },
    );
  });

  it('when a value path is given, with or without a sub-attribute after it, then its filter holds for one element', () => {
    expect(parseFilter('emails[type eq "work"]')).to.deep.equal({ op: 'valuePath', path: 'emails', filter: { op: 'eq', path: 'type', value: 'work' } });
    expect(parseFilter('emails[type eq "work"].value eq "a@b.c"')).to.deep.equal({
      op: 'valuePath',
      path: 'emails',
      filter: { op: 'and', left: { op: 'eq', path: 'type', value: 'work' }, right: { op: 'eq', path: 'value', value: 'a@b.c' } },
    });
    const user = { emails: [{ type: 'home', value: 'a@b.c' }, { type: 'work', value: 'x@y.z' }] };
    expect(matches(user, parseFilter('emails[type eq "work"].value eq "a@b.c"'))).to.equal(false);
    expect(matches(user, parseFilter('emails[type eq "home"].value eq "A@B.C"'))).to.equal(true);
  });

  it('when a string holds escapes, then they decode as JSON does', () => {
    expect(parseFilter(String.raw`userName eq "a\\b\"c\u00e9"`)).to.deep.equal({ op: 'eq', path: 'userName', value: 'a\\b"cé' });
  });

  it('when any text is parsed, then it parses or fails with a 400 invalidFilter, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z "()[\].0-9]{0,30}$/)), (text) => {
        try {
          parseFilter(text);
        } catch (err) {
          expect(err).to.be.instanceOf(ScimError);
          expect((err as ScimError).scimType).to.equal('invalidFilter');
          expect((err as ScimError).status).to.equal(400);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('when userName or externalId is compared with eq, then the query is a top-level equality on the indexed field', () => {
    const defs = new Map();
    expect(compileUserFilter(parseFilter('USERNAME eq "Ana@Example.com"'), defs)).to.deep.equal({ query: { emailLower: 'ana@example.com' }, exact: true });
    expect(compileUserFilter(parseFilter('externalId eq "e-1"'), defs)).to.deep.equal({ query: { _id: 'e-1' }, exact: true });
    expect(compileUserFilter(parseFilter('emails[type eq "work"].value eq "A@b.c"'), defs)).to.deep.equal({ query: { emailLower: 'a@b.c' }, exact: true });
    expect(compileUserFilter(parseFilter('userName eq "a@b.c" and active eq true'), defs)).to.deep.equal({ query: { emailLower: 'a@b.c', status: 'active' }, exact: true });
  });
});
