// Regular expressions of the `matches` operator, in RE2 syntax (https://github.com/google/re2/wiki/Syntax), run by
// re2js, a pure-JavaScript port of RE2. RE2 matches in time linear in the text (no backtracking), so any pattern it
// accepts is safe to run on any value: no analysis of the pattern's shape is needed, only RE2's own parser.
//
// One bound is added to RE2's: the size of the compiled program. Matching is linear in the text, but its constant
// grows with the program: past a few hundred instructions the lazy DFA outgrows its memory budget on a 1,000-
// character value and re2js falls back to its NFA, which costs hundreds of milliseconds per value (\pL{800}
// measured ~180 ms, \pL{500} ~0.05 ms). Ordinary patterns compile to a few dozen instructions.
import { RE2JS } from 're2js';

export const MAX_PATTERN_LENGTH = 1000;
/** Instructions of the compiled RE2 program; `.{0,240}` is about 480, `^[^@]+@acme\.com$` about 15. */
export const MAX_PROGRAM_SIZE = 500;

export type CompiledPattern = { ok: true; regex: RE2JS } | { ok: false; reason: string };

/** The pattern compiled by RE2 with no flags (inline flags such as (?i) select them), or why it is refused. */
export function compilePattern(pattern: string): CompiledPattern {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, reason: `patterns are limited to ${MAX_PATTERN_LENGTH} characters` };
  }
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(pattern);
  } catch (err) {
    // re2js says "error parsing regexp: <what>: `<where>`", as Go's regexp does.
    const detail = (err as Error).message.replace(/^error parsing regexp: /, '');
    return { ok: false, reason: `not valid RE2 syntax (no backreferences or lookaround): ${detail}` };
  }
  const size = regex.matcher('').programSize();
  if (size > MAX_PROGRAM_SIZE) {
    return {
      ok: false,
      reason: `the pattern compiles to ${size} RE2 instructions, more than ${MAX_PROGRAM_SIZE}: use smaller repetition counts`,
    };
  }
  return { ok: true, regex };
}

/** Why `pattern` is refused, or null when it is accepted. */
export function checkPattern(pattern: string): string | null {
  const compiled = compilePattern(pattern);
  return compiled.ok ? null : compiled.reason;
}
