// Regular expressions for the `matches` operator: a pattern is accepted only if it is in the common subset of
// JavaScript (u flag), PCRE (MongoDB) and RE2 (FerretDB, Go), and cannot backtrack catastrophically in V8.
//
// The pattern is parsed here (not by V8) into a small tree, then checked conservatively:
//   1. repeated parts that can match empty text: (a?)*, (a|)+
//   2. nested quantifiers (star height > 1): (a+)+, (\w+\s?)*, (.*a){12} — except a repetition whose every
//      iteration starts with a fixed character that no inner quantifier can consume, as in (\.\w+)*
//   3. alternatives that can start with the same character: (a|a)*, (a|ab), (\w|\d)+
//   4. unbounded quantifiers that can match the same characters with nothing forcing where one stops and the
//      next starts: adjacent ones (\d+\d+, \w+\s*\w+) always; in a chain of three or more (counting the implicit
//      search for a start position when the pattern does not begin with ^) also when separated: .*a.*b.*
// Anything the check cannot reason about is refused; the reason is returned for the user.
import {
  ANY,
  DIGIT,
  DOT,
  EMPTY,
  SPACE,
  WORD,
  complement,
  intersects,
  single,
  union,
  type CharSet,
} from './char-set.js';

export const MAX_PATTERN_LENGTH = 1000;
/** RE2 refuses repetition counts above 1000, and so do we, also for nested counts multiplied together. */
const MAX_REPEAT = 1000;
/** A quantifier whose range is this wide or unbounded counts as unbounded for the backtracking checks. */
const LONG_RANGE = 10;

type Node =
  | { kind: 'char'; set: CharSet; start: number; end: number }
  | { kind: 'anchor'; which: '^' | '$' | 'b' | 'B'; start: number; end: number }
  | { kind: 'group'; alts: Node[][]; start: number; end: number }
  | { kind: 'repeat'; node: Node; min: number; max: number; start: number; end: number };

class Refusal extends Error {}

const SYNTAX_CHARS = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

class Parser {
  private pos = 0;
  constructor(private readonly cps: string[]) {}

  parse(): Node {
    const alts = this.alternation();
    if (this.pos < this.cps.length) throw new Refusal(`unbalanced ')' at position ${this.pos + 1}`);
    return { kind: 'group', alts, start: 0, end: this.cps.length };
  }

  private peek(offset = 0): string | undefined {
    return this.cps[this.pos + offset];
  }

  private alternation(): Node[][] {
    const alts = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      alts.push(this.sequence());
    }
    return alts;
  }

  private sequence(): Node[] {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) items.push(this.term());
    return items;
  }

  private term(): Node {
    const atom = this.atom();
    const q = this.quantifier();
    if (!q) return atom;
    if (atom.kind === 'anchor') throw new Refusal(`nothing to repeat before the quantifier at position ${atom.end + 1}`);
    if (this.peek() === '?') this.pos++; // lazy: same language, same checks
    if (this.quantifierAhead()) {
      throw new Refusal(`stacked or possessive quantifiers (at position ${this.pos + 1}) are not supported`);
    }
    return { kind: 'repeat', node: atom, min: q.min, max: q.max, start: atom.start, end: this.pos };
  }

  private quantifierAhead(): boolean {
    const c = this.peek();
    return c === '*' || c === '+' || c === '?' || (c === '{' && this.braceQuantifier(false) !== null);
  }

  private quantifier(): { min: number; max: number } | null {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      return c === '*' ? { min: 0, max: Infinity } : c === '+' ? { min: 1, max: Infinity } : { min: 0, max: 1 };
    }
    if (c === '{') {
      const q = this.braceQuantifier(true);
      if (!q) throw new Refusal(`a literal '{' must be escaped as \\{ (position ${this.pos + 1})`);
      return q;
    }
    return null;
  }

  /** `{n}`, `{n,}`, `{n,m}` at pos; consumes it when `consume`. */
  private braceQuantifier(consume: boolean): { min: number; max: number } | null {
    const rest = this.cps.slice(this.pos, this.pos + 16).join('');
    const m = /^\{(\d{1,4})(?:(,)(\d{1,4})?)?\}/.exec(rest);
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? Infinity : Number(m[3]);
    if (consume) {
      if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
        throw new Refusal(`repetition counts above ${MAX_REPEAT} are not supported (position ${this.pos + 1})`);
      }
      if (max < min) throw new Refusal(`the quantifier at position ${this.pos + 1} has its numbers out of order`);
      this.pos += m[0].length;
    }
    return { min, max };
  }

  private atom(): Node {
    const start = this.pos;
    const c = this.cps[this.pos++]!;
    switch (c) {
      case '(':
        return this.group(start);
      case '[':
        return { kind: 'char', set: this.charClass(), start, end: this.pos };
      case '.':
        return { kind: 'char', set: DOT, start, end: this.pos };
      case '^':
      case '$':
        return { kind: 'anchor', which: c, start, end: this.pos };
      case '\\':
        return this.escape(start);
      case '*':
      case '+':
      case '?':
        throw new Refusal(`nothing to repeat before the quantifier at position ${start + 1}`);
      case '{':
        throw new Refusal(`a literal '{' must be escaped as \\{ (position ${start + 1})`);
      case '}':
      case ']':
        throw new Refusal(`a literal '${c}' must be escaped as \\${c} (position ${start + 1})`);
      default:
        return { kind: 'char', set: single(c.codePointAt(0)!), start, end: this.pos };
    }
  }

  private group(start: number): Node {
    if (this.peek() === '?') {
      const next = this.peek(1);
      if (next === ':') {
        this.pos += 2;
      } else if (next === '=' || next === '!' || (next === '<' && (this.peek(2) === '=' || this.peek(2) === '!'))) {
        throw new Refusal('lookahead and lookbehind are not supported (RE2 has neither)');
      } else if (next === '<' || next === 'P') {
        throw new Refusal('named groups are not supported (their syntax differs between engines): use (...) or (?:...)');
      } else if (next === '>') {
        throw new Refusal('atomic groups are not supported (RE2 and JavaScript have none)');
      } else {
        throw new Refusal('inline flags and other (?...) groups are not supported; only (?:...) is');
      }
    }
    const alts = this.alternation();
    if (this.peek() !== ')') throw new Refusal(`unbalanced '(' at position ${start + 1}`);
    this.pos++;
    return { kind: 'group', alts, start, end: this.pos };
  }

  private escape(start: number): Node {
    const c = this.cps[this.pos++];
    if (c === undefined) throw new Refusal('the pattern ends with a lone backslash');
    if (c === 'b' || c === 'B') return { kind: 'anchor', which: c, start, end: this.pos };
    const set = this.escapeSet(c, false);
    return { kind: 'char', set, start, end: this.pos };
  }

  /** The characters an escape `\c` stands for (pos is after c). */
  private escapeSet(c: string, inClass: boolean): CharSet {
    switch (c) {
      case 'd':
        return DIGIT;
      case 'D':
        return complement(DIGIT);
      case 'w':
        return WORD;
      case 'W':
        return complement(WORD);
      case 's':
        return SPACE;
      case 'S':
        return complement(SPACE);
      case 't':
        return single(0x09);
      case 'n':
        return single(0x0a);
      case 'r':
        return single(0x0d);
      case 'f':
        return single(0x0c);
      case 'x': {
        const hex = this.cps.slice(this.pos, this.pos + 2).join('');
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Refusal('\\x must be followed by exactly two hex digits');
        this.pos += 2;
        return single(Number.parseInt(hex, 16));
      }
      default:
        break;
    }
    if (SYNTAX_CHARS.has(c) || (inClass && c === '-')) return single(c.codePointAt(0)!);
    if (/[0-9]/.test(c)) throw new Refusal(`backreferences and octal escapes (\\${c}) are not supported (RE2 has none)`);
    if (c === 'k') throw new Refusal('backreferences (\\k<name>) are not supported (RE2 has none)');
    if (c === 'b') throw new Refusal('\\b inside a character class is not supported (its meaning differs between engines)');
    if (c === 'u') throw new Refusal('\\u escapes are not portable to PCRE and RE2: write the character itself');
    if (c === 'p' || c === 'P') throw new Refusal('Unicode property escapes (\\p{...}) are not supported');
    throw new Refusal(`the escape \\${c} is not supported (not the same in JavaScript, PCRE and RE2)`);
  }

  private charClass(): CharSet {
    const open = this.pos - 1;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.pos++;
    }
    if (this.peek() === ']') throw new Refusal(`empty class, or ']' first in a class: escape it as \\] (position ${this.pos + 1})`);
    const parts: CharSet[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Refusal(`unterminated character class starting at position ${open + 1}`);
      if (c === ']') {
        this.pos++;
        break;
      }
      const lo = this.classAtom();
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        const hi = this.classAtom();
        if (lo.single === null || hi.single === null) {
          throw new Refusal('a range in a class must run between two single characters');
        }
        if (lo.single > hi.single) throw new Refusal('a range in a class has its ends out of order');
        parts.push([[lo.single, hi.single]]);
      } else {
        parts.push(lo.set);
      }
    }
    const set = union(...parts);
    return negated ? complement(set) : set;
  }

  private classAtom(): { set: CharSet; single: number | null } {
    const c = this.cps[this.pos++]!;
    if (c === '[') throw new Refusal(`a literal '[' inside a class must be escaped as \\[ (position ${this.pos})`);
    if (c !== '\\') return { set: single(c.codePointAt(0)!), single: c.codePointAt(0)! };
    const e = this.cps[this.pos++];
    if (e === undefined) throw new Refusal('the pattern ends with a lone backslash');
    const set = this.escapeSet(e, true);
    const isSingle = set.length === 1 && set[0]![0] === set[0]![1] && !'dDwWsS'.includes(e);
    return { set, single: isSingle ? set[0]![0] : null };
  }
}

// --- analysis ---

function nullable(n: Node): boolean {
  switch (n.kind) {
    case 'char':
      return false;
    case 'anchor':
      return true;
    case 'group':
      return n.alts.some((alt) => alt.every(nullable));
    case 'repeat':
      return n.min === 0 || nullable(n.node);
  }
}

function chars(n: Node): CharSet {
  switch (n.kind) {
    case 'char':
      return n.set;
    case 'anchor':
      return EMPTY;
    case 'group':
      return union(...n.alts.flat().map(chars));
    case 'repeat':
      return n.max === 0 ? EMPTY : chars(n.node);
  }
}

function firstOfSeq(items: readonly Node[]): CharSet {
  const sets: CharSet[] = [];
  for (const item of items) {
    sets.push(first(item));
    if (!nullable(item)) break;
  }
  return union(...sets);
}

function first(n: Node): CharSet {
  switch (n.kind) {
    case 'char':
      return n.set;
    case 'anchor':
      return EMPTY;
    case 'group':
      return union(...n.alts.map(firstOfSeq));
    case 'repeat':
      return n.max === 0 ? EMPTY : first(n.node);
  }
}

function variableRepeats(n: Node, out: Array<Extract<Node, { kind: 'repeat' }>> = []): typeof out {
  if (n.kind === 'repeat') {
    if (n.min !== n.max) out.push(n);
    variableRepeats(n.node, out);
  } else if (n.kind === 'group') {
    for (const item of n.alts.flat()) variableRepeats(item, out);
  }
  return out;
}

function hasAlternation(n: Node): boolean {
  if (n.kind === 'group') return n.alts.length > 1 || n.alts.flat().some(hasAlternation);
  if (n.kind === 'repeat') return hasAlternation(n.node);
  return false;
}

/** Non-repeated single-alternative groups are just sequence: splice them into their parent. */
function flatten(items: readonly Node[]): Node[] {
  const out: Node[] = [];
  for (const item of items) {
    if (item.kind === 'group' && item.alts.length === 1) out.push(...flatten(item.alts[0]!));
    else out.push(item);
  }
  return out;
}

/**
 * Every iteration of the repeated `body` begins with a mandatory single character that no quantifier inside
 * the body can consume, and the body has no alternation: iteration boundaries are then forced, as in (\.\w+)*.
 */
function delimited(body: Node): boolean {
  if (body.kind !== 'group' || body.alts.length !== 1 || hasAlternation(body)) return false;
  const items = flatten(body.alts[0]!);
  const head = items[0];
  if (!head || head.kind !== 'char') return false;
  const repeats = variableRepeats(body);
  if (!repeats.every((rep) => rep.node.kind === 'char' && !intersects(rep.node.set, head.set))) return false;
  // Within one iteration, no two variable quantifiers may compete for the same characters: each iteration must
  // split one way only, or the ways would multiply from one iteration to the next.
  for (let j = 0; j < items.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = items[i]!;
      const b = items[j]!;
      if (a.kind !== 'repeat' || b.kind !== 'repeat' || a.min === a.max || b.min === b.max) continue;
      if (ambiguous(chars(a), b, items.slice(i + 1, j))) return false;
    }
  }
  return true;
}

/**
 * Whether a quantifier consuming `set` and a later item `b` can compete for the same characters: b can start
 * with, and consume, characters of `set`, and no mandatory item between them is outside `set` (a fence that
 * forces where the quantifier stops).
 */
function ambiguous(set: CharSet, b: Node, between: readonly Node[]): boolean {
  if (!intersects(set, chars(b)) || !intersects(set, first(b))) return false;
  return !between.some((k) => !nullable(k) && !intersects(chars(k), set));
}

function isLong(n: Node): boolean {
  if (n.kind === 'repeat') return n.max === Infinity || n.max - n.min >= LONG_RANGE || isLong(n.node);
  if (n.kind === 'group') return n.alts.flat().some(isLong);
  return false;
}

/**
 * How many unbounded dimensions of backtracking an item brings to its sequence: 1 for an unbounded quantifier
 * (a repeated group counts once: nested repetition is refused unless its iterations are delimited), and for a
 * group of alternatives the heaviest chain inside it.
 */
function weight(n: Node): number {
  if (n.kind === 'repeat') {
    if (n.max <= 1) return weight(n.node);
    return isLong(n) ? 1 : 0;
  }
  if (n.kind === 'group') return Math.max(0, ...n.alts.map((alt) => heaviestChain(flatten(alt), false).weight));
  return 0;
}

interface Chain {
  weight: number;
  /** Two explicit unbounded quantifiers with nothing mandatory between them, competing for the same characters. */
  adjacent: [Node, Node] | null;
  end: Node | null;
}

/**
 * The heaviest chain of items in a sequence where each can take over characters the previous one could consume
 * (see ambiguous). Backtracking time grows with the text length to the power of the chain's weight.
 */
function heaviestChain(flat: readonly Node[], implicitStart: boolean): Chain {
  type Item = { index: number; set: CharSet; node: Node | null; weight: number };
  const items: Item[] = [];
  if (implicitStart) items.push({ index: -1, set: ANY, node: null, weight: 1 });
  flat.forEach((node, index) => {
    const w = weight(node);
    if (w > 0) items.push({ index, set: chars(node), node, weight: w });
  });
  const best = items.map((it) => it.weight);
  let result: Chain = { weight: Math.max(0, ...best), adjacent: null, end: null };
  for (let j = 0; j < items.length; j++) {
    const b = items[j]!;
    for (let i = 0; i < j; i++) {
      const a = items[i]!;
      const between = flat.slice(a.index + 1, b.index);
      if (!ambiguous(a.set, b.node!, between)) continue;
      if (a.node && between.every(nullable) && !result.adjacent) result = { ...result, adjacent: [a.node, b.node!] };
      best[j] = Math.max(best[j]!, best[i]! + b.weight);
      if (best[j]! > result.weight) result = { ...result, weight: best[j]!, end: b.node };
    }
  }
  return result;
}

class Checker {
  constructor(private readonly cps: string[]) {}

  private src(n: Node): string {
    const text = this.cps.slice(n.start, n.end).join('');
    return text.length > 40 ? `${text.slice(0, 37)}...` : text;
  }

  /** Overlapping alternations met outside any repetition; each multiplies the work by its number of alternatives. */
  private overlapping = 0;

  check(n: Node, multiplier: number, inRepeat = false): void {
    if (n.kind === 'group') {
      if (n.alts.length > 1) this.checkAlternatives(n, inRepeat);
      for (const alt of n.alts) {
        this.checkSequence(alt, false);
        for (const item of alt) this.check(item, multiplier, inRepeat);
      }
    } else if (n.kind === 'repeat') {
      const count = n.max === Infinity ? Math.max(n.min, 1) : Math.max(n.max, 1);
      if (multiplier * count > MAX_REPEAT) {
        throw new Refusal(`nested repetition counts multiply to more than ${MAX_REPEAT} at '${this.src(n)}'`);
      }
      if (n.max > 1) {
        if (nullable(n.node)) {
          throw new Refusal(
            `'${this.src(n)}' repeats a part that can match empty text, which can make matching take exponential time`,
          );
        }
        if (variableRepeats(n.node).length > 0 && !delimited(n.node)) {
          throw new Refusal(
            `nested quantifiers: '${this.src(n)}' repeats a part that itself has a variable-length quantifier, ` +
              'which can backtrack catastrophically (like (a+)+)',
          );
        }
      }
      this.check(n.node, multiplier * count, inRepeat || n.max > 1);
    }
  }

  /**
   * Alternatives that can start with the same character are retried one after the other. Inside a repetition
   * that compounds at every iteration ((a|a)*), so it is refused; outside one it only multiplies the work by the
   * number of alternatives, so a few such groups are allowed ((Mr|Mrs)) as long as they hold no unbounded quantifier.
   */
  private checkAlternatives(n: Extract<Node, { kind: 'group' }>, inRepeat: boolean): void {
    const firsts = n.alts.map(firstOfSeq);
    let overlap = false;
    for (let i = 0; i < firsts.length && !overlap; i++) {
      for (let j = i + 1; j < firsts.length && !overlap; j++) overlap = intersects(firsts[i]!, firsts[j]!);
    }
    if (!overlap) return;
    const why = `in '${this.src(n)}', two alternatives can start with the same character, so the engine retries each`;
    if (inRepeat) {
      throw new Refusal(`${why} at every repetition, which can take exponential time (like (a|a)* or (a|ab)+): make the alternatives start differently`);
    }
    if (isLong(n)) throw new Refusal(`${why}, and they contain unbounded quantifiers: make the alternatives start differently`);
    if (++this.overlapping > 4) {
      throw new Refusal(`${why}, and this is the fifth such group: the retries multiply; make the alternatives start differently`);
    }
  }

  /**
   * Unbounded quantifiers in one sequence: adjacent ones competing for the same characters are refused; so are
   * chains of weight 3 or more (matching time growing with the cube of the text length).
   */
  checkSequence(items: readonly Node[], implicitStart: boolean): void {
    const chain = heaviestChain(flatten(items), implicitStart);
    if (chain.adjacent) {
      const [a, b] = chain.adjacent;
      throw new Refusal(
        `'${this.src(a)}' and '${this.src(b)}' follow each other and can match the same characters, ` +
          'so the engine tries every way of splitting the text between them',
      );
    }
    if (chain.weight >= 3) {
      throw new Refusal(
        'three or more unbounded quantifiers can match the same characters one after the other' +
          (implicitStart ? ' (counting the search for a start position, as the pattern does not begin with ^)' : '') +
          (chain.end ? `, up to '${this.src(chain.end)}'` : '') +
          ': matching time would grow with the cube of the text length; anchor the pattern with ^, or use ' +
          'narrower classes such as [^@]* so that each part stops where the next begins',
      );
    }
  }
}

/** Why `pattern` is refused, or null when it is accepted. */
export function checkPattern(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `patterns are limited to ${MAX_PATTERN_LENGTH} characters`;
  const cps = [...pattern];
  try {
    const tree = new Parser(cps).parse();
    const checker = new Checker(cps);
    checker.check(tree, 1);
    for (const alt of tree.kind === 'group' ? tree.alts : []) {
      const head = flatten(alt)[0];
      checker.checkSequence(alt, !(head?.kind === 'anchor' && head.which === '^'));
    }
  } catch (err) {
    if (err instanceof Refusal) return err.message;
    throw err;
  }
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message}`;
  }
  return null;
}

export type SafeRegexResult = { ok: true; regex: RegExp } | { ok: false; reason: string };

/** The pattern compiled for evaluation (u flag, no others), or why it is refused. */
export function compileSafeRegex(pattern: string): SafeRegexResult {
  const reason = checkPattern(pattern);
  return reason === null ? { ok: true, regex: new RegExp(pattern, 'u') } : { ok: false, reason };
}
