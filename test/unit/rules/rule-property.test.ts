// Any rule document, however malformed, is either refused with errors located inside it (each error's path leads
// into the document), or accepted and then evaluates exactly as json-rules-engine does. fast-check generates the
// documents: rules from the differential generator (support/generate.ts), and the same with one part replaced
// by arbitrary JSON (wrong types, hostile keys, unicode, deep nesting). RULE_PROPERTY_SEED=<n> runs another seed;
// a failure prints the seed and the shrunk counterexample.
import { expect } from 'chai';
import fc from 'fast-check';
import { compileRule, createEngine, validateRule } from '../../../src/rules/index.js';
import type { FieldDef, RuleDocument, UserFacts } from '../../../src/rules/index.js';
import { NOWS, genRule, genUser, prng } from './support/generate.js';

const SEED = process.env.RULE_PROPERTY_SEED ? Number(process.env.RULE_PROPERTY_SEED) : 424_242;
const RUNS = 300;

const fields = new Map<string, FieldDef>([
  ['department', { key: 'department', label: 'Department', type: 'text' }],
  ['code', { key: 'code', label: 'Code', type: 'text' }],
  ['tags', { key: 'tags', label: 'Tags', type: 'text' }],
  ['age', { key: 'age', label: 'Age', type: 'number' }],
  ['hireDate', { key: 'hireDate', label: 'Hire date', type: 'date' }],
  ['manager', { key: 'manager', label: 'Manager', type: 'boolean' }],
]);
const ctx = { fields };

/** Every place in a JSON document where a value sits: [parent, key]. */
function places(doc: unknown, out: Array<[Record<string, unknown> | unknown[], string | number]> = []): typeof out {
  if (Array.isArray(doc)) doc.forEach((v, i) => (out.push([doc, i]), places(v, out)));
  else if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) (out.push([doc as Record<string, unknown>, k]), places(v, out));
  return out;
}

/**
 * True when the path (`conditions.all[0].value`) leads into the document: every step but the last exists, the last
 * may be a missing key (a required one). A key may itself hold "." (a refused key is named as it is): at each
 * object the longest key that the rest of the path starts with is taken.
 */
function locatedIn(doc: unknown, path: string): boolean {
  let at: unknown = doc;
  let rest = path;
  while (rest !== '') {
    if (at === null || typeof at !== 'object') return false;
    const index = /^\[(\d+)\]/.exec(rest);
    if (index && Array.isArray(at)) {
      if (Number(index[1]) >= at.length) return false;
      at = at[Number(index[1])];
      rest = rest.slice(index[0].length).replace(/^\./, '');
      continue;
    }
    const key = Object.keys(at)
      .filter((k) => rest === k || rest.startsWith(`${k}.`) || rest.startsWith(`${k}[`))
      .sort((a, b) => b.length - a.length)[0];
    if (key === undefined) return !/[.[]/.test(rest); // a missing key, named last
    at = (at as Record<string, unknown>)[key];
    rest = rest.slice(key.length).replace(/^\./, '');
  }
  return true;
}

const hostileKey = fc.constantFrom('$where', '$gt', 'a.b', '__proto__', 'constructor', 'prototype', 'conditions', 'all', 'any', 'not', 'fact', 'operator', 'value', 'params', 'path', '', '\u0000', 'ü', '🙂');
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(hostileKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.nat(40).map((depth) => {
    let v: unknown = { fact: 'email', operator: 'equal', value: 'x' };
    for (let i = 0; i < depth; i++) v = { all: [v] };
    return { conditions: v };
  }),
);

const generatedRule = fc
  .record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), mutate: fc.nat(2).map((n) => n === 0), where: fc.nat(), replacement: anyJson, whole: fc.boolean() })
  .map(({ seed, mutate, where, replacement, whole }) => {
    const r = prng(seed);
    const now = r.pick(NOWS);
    const rule: unknown = JSON.parse(JSON.stringify(genRule(r, now.getTime())));
    if (mutate) {
      if (whole) return { rule: replacement, seed, now };
      const at = places(rule);
      const [parent, key] = at[where % at.length]!;
      (parent as Record<string | number, unknown>)[key] = replacement;
    }
    return { rule, seed, now };
  });

async function engineSays(rule: RuleDocument, user: UserFacts, now: Date): Promise<boolean | string> {
  try {
    return (await createEngine(rule, user, now).run()).results.length > 0;
  } catch (err) {
    return `throws ${(err as Error).name}`;
  }
}

describe(`rules: any generated rule is refused with located errors or evaluates as json-rules-engine (fast-check seed ${SEED})`, function () {
  this.timeout(120_000);

  it(`when ${RUNS} generated documents are validated, then each refusal names paths inside the document and each accepted rule agrees with the engine`, async () => {
    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(generatedRule, async ({ rule, seed, now }) => {
        const result = validateRule(rule, ctx);
        if (!result.valid) {
          refused++;
          expect(result.errors, 'a refusal names at least one error').to.not.be.empty;
          for (const e of result.errors) expect(locatedIn(rule, e.path), `error path "${e.path}" is not inside ${JSON.stringify(rule)}`).to.equal(true);
          return;
        }
        accepted++;
        const doc = rule as RuleDocument;
        const { predicate } = compileRule(doc);
        const r = prng(seed ^ 0x5bd1e995);
        for (let i = 0; i < 4; i++) {
          const user = genUser(r, now.getTime(), r.chance(0.3));
          let compiled: boolean | string;
          try {
            compiled = predicate(user, now);
          } catch (err) {
            compiled = `throws ${(err as Error).name}`;
          }
          expect(compiled, `rule ${JSON.stringify(doc)}, user ${JSON.stringify(user)}`).to.equal(await engineSays(doc, user, now));
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Both outcomes are exercised.
    expect(refused, 'refused').to.be.greaterThan(RUNS / 10);
    expect(accepted, 'accepted').to.be.greaterThan(RUNS / 20);
  });
});
