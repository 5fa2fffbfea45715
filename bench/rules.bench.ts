// Rule evaluation benchmark: 10,000 generated users × 200 generated rules (seeded; a realistic mix of operators,
// nesting up to three levels, few decorators). Compiled predicates evaluate all 2,000,000 pairs; json-rules-engine
// is run on a sample and its rate extrapolated, both as the service would use it for a user (one engine holding
// the 200 rules, run once per user) and as explain does (one engine per evaluation). Same process, same data.
//
// `npm run bench` runs it with the others; `node --import tsx bench/rules.bench.ts` runs it alone.

import { compileRule } from '../src/rules/index.js';
import type { RuleDocument, UserFacts } from '../src/rules/index.js';
import { buildEngine, buildEngineForRules } from '../src/rules/engine.js';
import { genRule, genUser, prng } from '../test/unit/rules/support/generate.js';
import { runWhenMain, type BenchResult } from './print.js';

const USERS = 10_000;
const RULES = 200;
const ENGINE_USERS = 50; // × 200 rules = 10,000 evaluations through json-rules-engine, one engine per user
const ENGINE_PAIRS = 5_000; // one engine per evaluation
const SEED = 4242;

/** Weighted towards what group rules use most: equality, lists, enrolments, text and dates. */
const REALISTIC_OPERATORS = [
  'equal', 'equal', 'equal', 'equal', 'in', 'in', 'in', 'notEqual', 'notIn', 'exists', 'exists', 'includesText',
  'includesText', 'startsWith', 'endsWith', 'matches', 'withinLastDays', 'moreThanDaysAgo', 'before', 'after',
  'greaterThan', 'lessThanInclusive',
];

function data(): { users: UserFacts[]; rules: RuleDocument[]; now: Date } {
  const r = prng(SEED);
  const now = new Date('2025-01-20T13:45:10.123Z');
  const rules = Array.from({ length: RULES }, () =>
    genRule(r, now.getTime(), { maxDepth: 3, decorate: 0.08, operators: REALISTIC_OPERATORS }),
  );
  const users = Array.from({ length: USERS }, () => genUser(r, now.getTime(), false));
  return { users, rules, now };
}

/** The backtracking classics and everyday patterns, each against a value built to make a backtracking engine explore every split. */
const MATCH_CASES: Array<[string, string]> = [
  ['(a+)+$', 'a'.repeat(999) + '!'],
  ['(a|a)*b', 'a'.repeat(999) + '!'],
  ['(.*a){20}$', 'a'.repeat(999) + '!'],
  ['^(a|aa)+$', 'a'.repeat(999) + '!'],
  ['(\\w+\\s?)*$', 'word '.repeat(199) + '!!!!!'],
  ['.*@contractor\\..*', 'a@'.repeat(500)],
  ['a.*b.*c', 'ab'.repeat(500)],
  ['(?i)@CONTRACTOR\\.', '@contractor'.repeat(90) + '@'],
];
const MATCH_EVALUATIONS = 2_000;

/** Per-evaluation time of `matches` through the compiled predicate: the worst pattern's mean, and its slowest single evaluation. */
function matchesTiming(now: Date): { worstMeanUs: number; worstSingleUs: number } {
  let worstMeanUs = 0;
  let worstSingleUs = 0;
  for (const [pattern, value] of MATCH_CASES) {
    const rule: RuleDocument = { conditions: { all: [{ fact: 'field', params: { key: 'x' }, operator: 'matches', value: pattern }] } };
    const { predicate } = compileRule(rule);
    const user: UserFacts = {
      externalId: 'u1', email: 'u1@example.com', firstName: 'A', lastName: 'B', type: 'staff', status: 'active',
      fields: { x: value }, enrollments: {},
    };
    let t = performance.now();
    predicate(user, now); // the first evaluation builds the DFA's first states
    worstSingleUs = Math.max(worstSingleUs, (performance.now() - t) * 1000);
    t = performance.now();
    for (let i = 0; i < MATCH_EVALUATIONS; i++) predicate(user, now);
    worstMeanUs = Math.max(worstMeanUs, ((performance.now() - t) * 1000) / MATCH_EVALUATIONS);
  }
  return { worstMeanUs, worstSingleUs };
}

export async function run(): Promise<BenchResult[]> {
  const { users, rules, now } = data();

  let t = performance.now();
  const compiled = rules.map((rule) => compileRule(rule));
  const compileMs = performance.now() - t;
  const predicates = compiled.map((c) => c.predicate);

  // Warm up, then time all 2,000,000 evaluations.
  for (let i = 0; i < 200; i++) for (const p of predicates) p(users[i]!, now);
  let matches = 0;
  t = performance.now();
  for (const user of users) {
    for (const p of predicates) if (p(user, now)) matches++;
  }
  const compiledSeconds = (performance.now() - t) / 1000;
  const compiledRate = (USERS * RULES) / compiledSeconds;

  // json-rules-engine, one engine per user holding all rules (runs never overlap).
  const nowMs = now.getTime();
  const engineUsers = users.slice(0, ENGINE_USERS);
  await buildEngineForRules(rules, users[0]!, nowMs).run(); // warm-up
  let disagreements = 0;
  t = performance.now();
  for (const user of engineUsers) {
    const { results } = await buildEngineForRules(rules, user, nowMs).run();
    const fired = new Set(results.map((res) => (res.event?.params as { index: number }).index));
    predicates.forEach((p, i) => {
      if (p(user, now) !== fired.has(i)) disagreements++;
    });
  }
  const perUserSeconds = (performance.now() - t) / 1000;
  const perUserRate = (ENGINE_USERS * RULES) / perUserSeconds;

  // json-rules-engine, one engine per evaluation (as explain and the differential test run it).
  const r = prng(SEED + 1);
  const pairs = Array.from({ length: ENGINE_PAIRS }, () => [r.int(RULES), r.int(USERS)] as const);
  t = performance.now();
  for (const [ri, ui] of pairs) {
    const { results } = await buildEngine(rules[ri]!, users[ui]!, nowMs).run();
    if (predicates[ri]!(users[ui]!, now) !== results.length > 0) disagreements++;
  }
  const perEvaluationSeconds = (performance.now() - t) / 1000;
  const perEvaluationRate = ENGINE_PAIRS / perEvaluationSeconds;
  if (disagreements > 0) throw new Error(`compiled predicates disagreed with json-rules-engine ${disagreements} times`);
  const matchTimes = matchesTiming(now);

  return [
    { name: 'rules: compile, per rule (200 rules)', value: Math.round((compileMs / RULES) * 1000) / 1000, unit: 'ms' },
    { name: 'rules: compiled predicates, all 10,000 users × 200 rules', value: Math.round(compiledRate), unit: 'evaluations/s' },
    { name: 'rules: compiled predicates, full pass 10,000 × 200', value: Math.round(compiledSeconds * 1000), unit: 'ms' },
    { name: 'rules: share of pairs that match', value: Math.round((matches / (USERS * RULES)) * 1000) / 10, unit: '%' },
    {
      name: `rules: json-rules-engine, engine per user with 200 rules (${ENGINE_USERS} users sampled, rate extrapolated)`,
      value: Math.round(perUserRate),
      unit: 'evaluations/s',
    },
    {
      name: `rules: json-rules-engine, engine per evaluation (${ENGINE_PAIRS.toLocaleString('en-US')} pairs sampled, rate extrapolated)`,
      value: Math.round(perEvaluationRate),
      unit: 'evaluations/s',
    },
    { name: 'rules: speed-up, compiled vs json-rules-engine engine per user', value: Math.round(compiledRate / perUserRate), unit: '×' },
    { name: 'rules: speed-up, compiled vs json-rules-engine engine per evaluation', value: Math.round(compiledRate / perEvaluationRate), unit: '×' },
    {
      name: `rules: matches on a 1,000-character adversarial value, worst mean per evaluation (${MATCH_CASES.length} patterns incl. (a+)+$, (.*a){20}$)`,
      value: Math.round(matchTimes.worstMeanUs * 10) / 10,
      unit: 'µs',
    },
    { name: 'rules: matches on a 1,000-character adversarial value, slowest first evaluation', value: Math.round(matchTimes.worstSingleUs), unit: 'µs' },
    {
      name: 'rules: json-rules-engine extrapolated to 10,000 × 200 (engine per user)',
      value: Math.round((USERS * RULES) / perUserRate),
      unit: 's',
    },
  ];
}

await runWhenMain(import.meta.url, run);
