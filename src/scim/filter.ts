// The filter grammar of RFC 7644 §3.4.2.2: comparisons (eq ne co sw ew gt ge lt le), presence (pr), `and`, `or`,
// `not`, grouping with parentheses and value paths (`emails[type eq "work"]`). Keywords are case-insensitive
// (Okta and Entra send `eq`, other clients `EQ`). Precedence, highest first: `not`, `and`, `or`; `and` and `or`
// associate to the left.
//
// Besides the RFC's grammar, the form Entra sends, a value path followed by a sub-attribute and a comparison
// (`emails[type eq "work"].value eq "ana@example.com"`), is read as the value path whose filter also holds the
// comparison (`emails[type eq "work" and value eq "ana@example.com"]`): the same element must match both, which is
// what the client means.
//
// Written here rather than taken from a package: the npm parsers read `\\` in a string as two backslashes and turn
// Entra's form into two unrelated conditions (scim2-parse-filter 0.2.10), and scimmy's Filter flattens a filter
// into case-sensitive objects that cannot be printed back (see docs/scim.md).
import { invalidFilter } from './scim-error.js';

export const COMPARE_OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;
type CompareOp = (typeof COMPARE_OPS)[number];
export type CompValue = string | number | boolean | null;

/** An attribute path as written: `userName`, `name.givenName`, `urn:…:enterprise:2.0:User:department`. */
type AttrPath = string;

export type Filter =
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  | { op: 'pr'; path: AttrPath }
  | { op: CompareOp; path: AttrPath; value: CompValue }
  | { op: 'valuePath'; path: AttrPath; filter: Filter };

type Token =
  | { kind: 'open' | 'close' | 'openBracket' | 'closeBracket' | 'end'; at: number }
  | { kind: 'word'; text: string; at: number }
  | { kind: 'sub'; text: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number };

// RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; a URI prefix adds ':' and '.'.
const WORD = /^[A-Za-z][A-Za-z0-9_:.$-]*/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;
// A JSON string (control characters are refused by JSON.parse afterwards).
const STRING = /^"(?:[^"\\]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/;
const SUB_ATTR = /^\.([A-Za-z][A-Za-z0-9_-]*)/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === '[') {
      tokens.push({ kind: ch === '(' ? 'open' : ch === ')' ? 'close' : 'openBracket', at: i });
      i++;
      continue;
    }
    if (ch === ']') {
      tokens.push({ kind: 'closeBracket', at: i });
      i++;
      const sub = SUB_ATTR.exec(text.slice(i));
      if (sub) {
        tokens.push({ kind: 'sub', text: sub[1]!, at: i });
        i += sub[0].length;
      }
      continue;
    }
    if (ch === '"') {
      const m = STRING.exec(rest);
      if (!m) throw invalidFilter(`The filter has an unterminated or malformed string at position ${i + 1}.`);
      let value: string;
      try {
        value = JSON.parse(m[0]) as string;
      } catch {
        throw invalidFilter(`The filter has a string with a control character at position ${i + 1}.`);
      }
      tokens.push({ kind: 'string', value, at: i });
      i += m[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num && (ch === '-' || /\d/.test(ch))) {
      tokens.push({ kind: 'number', value: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw invalidFilter(`The filter has an unexpected character '${ch}' at position ${i + 1}.`);
  }
  tokens.push({ kind: 'end', at: text.length });
  return tokens;
}

const isKeyword = (t: Token, word: string): boolean => t.kind === 'word' && t.text.toLowerCase() === word;

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }
  private fail(expected: string): never {
    const t = this.peek();
    const found = t.kind === 'end' ? 'the end' : t.kind === 'word' ? `'${t.text}'` : t.kind;
    throw invalidFilter(`The filter expects ${expected} at position ${t.at + 1} but found ${found}.`);
  }

  parse(): Filter {
    const filter = this.or();
    if (this.peek().kind !== 'end') this.fail('and, or or the end');
    return filter;
  }

  private or(): Filter {
    let left = this.and();
    while (isKeyword(this.peek(), 'or')) {
      this.next();
      left = { op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Filter {
    let left = this.unary();
    while (isKeyword(this.peek(), 'and')) {
      this.next();
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Filter {
    const t = this.peek();
    if (isKeyword(t, 'not')) {
      this.next();
      return { op: 'not', filter: this.unary() };
    }
    if (t.kind === 'open') {
      this.next();
      const inner = this.or();
      if (this.next().kind !== 'close') {
        this.i--;
        this.fail("')'");
      }
      return inner;
    }
    if (t.kind !== 'word') this.fail('an attribute, not or (');
    this.next();
    const path = t.text;
    if (this.peek().kind === 'openBracket') {
      this.next();
      const inner = this.or();
      if (this.peek().kind !== 'closeBracket') this.fail("']'");
      this.next();
      const sub = this.peek();
      if (sub.kind !== 'sub') return { op: 'valuePath', path, filter: inner };
      this.next();
      return { op: 'valuePath', path, filter: { op: 'and', left: inner, right: this.comparison(sub.text) } };
    }
    return this.comparison(path);
  }

  private comparison(path: AttrPath): Filter {
    const t = this.peek();
    if (t.kind !== 'word') this.fail(`an operator after ${path}`);
    const op = t.text.toLowerCase();
    this.next();
    if (op === 'pr') return { op: 'pr', path };
    if (!(COMPARE_OPS as readonly string[]).includes(op)) {
      this.i--;
      this.fail(`an operator (${COMPARE_OPS.join(', ')} or pr) after ${path}`);
    }
    return { op: op as CompareOp, path, value: this.value() };
  }

  private value(): CompValue {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'word') {
      const w = t.text.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    this.i--;
    return this.fail('a value (a "string", a number, true, false or null)');
  }
}

/** The filter as a tree; a ScimError (400 invalidFilter) naming the position of what is wrong. */
export function parseFilter(text: string): Filter {
  if (text.trim() === '') throw invalidFilter('The filter is empty.');
  return new Parser(tokenize(text)).parse();
}

const PRECEDENCE = { or: 1, and: 2 } as const;

/**
 * The filter as text that parses back to the same tree: keywords in lower case, strings as JSON, parentheses
 * only where the tree's shape needs them (a right operand of the same operator, an `or` inside an `and`).
 */
export function stringifyFilter(f: Filter, context = 0): string {
  switch (f.op) {
    case 'and':
    case 'or': {
      const p = PRECEDENCE[f.op];
      const text = `${stringifyFilter(f.left, p)} ${f.op} ${stringifyFilter(f.right, p + 0.5)}`;
      return context > p ? `(${text})` : text;
    }
    case 'not':
      return `not (${stringifyFilter(f.filter)})`;
    case 'pr':
      return `${f.path} pr`;
    case 'valuePath':
      return `${f.path}[${stringifyFilter(f.filter)}]`;
    default:
      return `${f.path} ${f.op} ${JSON.stringify(f.value)}`;
  }
}
