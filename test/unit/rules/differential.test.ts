// The proof that the compiled predicate means what json-rules-engine means: random (rule, user) pairs, each
// evaluated by compileRule(...).predicate and by createEngine(...).run() — a fresh engine per evaluation — and
// every result compared. RULES_SEED=<n> runs another seed (CI runs a second one); RULES_PAIRS=<n> changes size.
import { expect } from 'chai';
import { compileRule, createEngine } from '../../../src/rules/index.js';
import { useTimeZone } from '../../../src/rules/dates.js';
import type { RuleDocument, UserFacts } from '../../../src/rules/index.js';
import { BASE_OPERATORS, DECORATOR_NAMES, NOWS, genRule, genUser, operatorsOf, prng } from './support/generate.js';

const DEFAULT_SEED = 20_250_120;
const SEED = process.env.RULES_SEED ? Number(process.env.RULES_SEED) : DEFAULT_SEED;
const PAIRS = process.env.RULES_PAIRS ? Number(process.env.RULES_PAIRS) : 20_000;
const USERS_PER_RULE = 6;

type Outcome = boolean | `throws ${string}`;

async function engineOutcome(rule: RuleDocument, user: UserFacts, now: Date): Promise<Outcome> {
  try {
    const { results } = await createEngine(rule, user, now).run();
    return results.length > 0;
  } catch (err) {
    return `throws ${(err as Error).name}`;
  }
}

function predicateOutcome(predicate: (u: UserFacts, n: Date) => boolean, user: UserFacts, now: Date): Outcome {
  try {
    return predicate(user, now);
  } catch (err) {
    return `throws ${(err as Error).name}`;
  }
}

describe(`rules: the compiled predicate agrees with json-rules-engine (seed ${SEED})`, function () {
  this.timeout(300_000);

  afterEach(() => useTimeZone('UTC'));

  it(`when ${PAIRS} random (rule, user) pairs are evaluated both ways, then every outcome is the same`, () => agreeOn(PAIRS));

  // Calendar dates are days in TIMEZONE: the two paths must still agree where days are 23 or 25 hours long.
  it(`when TIMEZONE is Europe/Lisbon and ${Math.ceil(PAIRS / 4)} pairs are evaluated both ways, then every outcome is the same`, () => {
    useTimeZone('Europe/Lisbon');
    return agreeOn(Math.ceil(PAIRS / 4));
  });

  async function agreeOn(PAIRS: number): Promise<void> {
    if (!Number.isInteger(SEED)) throw new Error(`RULES_SEED must be an integer, got ${process.env.RULES_SEED}`);
    const r = prng(SEED);
    const seen = new Map<string, number>();
    const disagreements: string[] = [];
    let pairs = 0;
    let matched = 0;
    for (let i = 0; pairs < PAIRS; i++) {
      const now = r.pick(NOWS);
      const rule = genRule(r, now.getTime());
      for (const op of operatorsOf(rule.conditions)) {
        for (const part of op.split(':')) seen.set(part, (seen.get(part) ?? 0) + 1);
      }
      const { predicate } = compileRule(rule);
      const users = Array.from({ length: USERS_PER_RULE }, () => genUser(r, now.getTime(), r.chance(0.3)));
      const engine = await Promise.all(users.map((u) => engineOutcome(rule, u, now)));
      users.forEach((user, j) => {
        pairs++;
        const compiled = predicateOutcome(predicate, user, now);
        if (compiled === true) matched++;
        if (compiled !== engine[j] && disagreements.length < 5) {
          disagreements.push(
            `seed ${SEED}, rule #${i}, now ${now.toISOString()}: engine ${String(engine[j])}, predicate ${String(compiled)}\n` +
              `rule: ${JSON.stringify(rule)}\nuser: ${JSON.stringify(user)}`,
          );
        }
      });
    }
    if (disagreements.length > 0) console.error(disagreements.join('\n\n'));
    expect(disagreements, 'disagreements (printed above)').to.deep.equal([]);
    // The generator must keep exercising everything, and both outcomes.
    for (const name of [...BASE_OPERATORS, ...DECORATOR_NAMES]) expect(seen.get(name) ?? 0, name).to.be.greaterThan(50);
    expect(matched / pairs).to.be.within(0.15, 0.85);
  }
});
