// Sets of Unicode code points as sorted, disjoint, non-adjacent [lo, hi] ranges: what one regex atom can match.
// safe-regex.ts uses them to tell whether two parts of a pattern can consume the same character.

export type CharSet = ReadonlyArray<readonly [number, number]>;

export const MAX_CODE_POINT = 0x10ffff;
export const EMPTY: CharSet = [];
export const ANY: CharSet = [[0, MAX_CODE_POINT]];

export function normalize(ranges: Array<readonly [number, number]>): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function single(cp: number): CharSet {
  return [[cp, cp]];
}

export function union(...sets: CharSet[]): CharSet {
  return normalize(sets.flat());
}

export function complement(set: CharSet): CharSet {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function intersects(a: CharSet, b: CharSet): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x[1] < y[0]) i++;
    else if (y[1] < x[0]) j++;
    else return true;
  }
  return false;
}

const r = (lo: string, hi: string = lo): readonly [number, number] => [lo.codePointAt(0)!, hi.codePointAt(0)!];

/** JavaScript's classes (u flag, no i flag): \d, \w are ASCII; \s is JavaScript's white space and line terminators. */
export const DIGIT: CharSet = normalize([r('0', '9')]);
export const WORD: CharSet = normalize([r('a', 'z'), r('A', 'Z'), r('0', '9'), r('_')]);
export const SPACE: CharSet = normalize([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** `.` without the s flag: everything but line terminators. */
export const DOT: CharSet = complement(normalize([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]));
