// Dates in rules and facts are strings: calendar dates 'YYYY-MM-DD' (read as UTC midnight) or ISO 8601 instants
// with an explicit offset ('2024-05-01T09:30:00Z', '...+02:00'). Nothing else is a date: an instant without an
// offset would depend on the server's time zone, so it is refused rather than guessed.

export const DAY_MS = 86_400_000;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!;
}

function utcMidnight(y: string, m: string, d: string): number {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // setUTCFullYear, not Date.UTC: years 0-99 stay themselves
  return date.getTime();
}

/**
 * Parsed date strings. The same few values (a user's hire date, enrolment dates) are read by many rules in a
 * sync, so parsing once per distinct string pays; the cache is dropped whenever it grows past its bound.
 */
const cache = new Map<string, number>();
const CACHE_LIMIT = 50_000;

/** Milliseconds since the epoch, or NaN when `value` is not a date string of the accepted forms. */
export function parseDate(value: unknown): number {
  if (typeof value !== 'string' || value.length > 35 || value.length < 10) return Number.NaN;
  let ms = cache.get(value);
  if (ms === undefined) {
    ms = parse(value);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(value, ms);
  }
  return ms;
}

function parse(value: string): number {
  const dateOnly = DATE_ONLY.exec(value);
  if (dateOnly) return utcMidnight(dateOnly[1]!, dateOnly[2]!, dateOnly[3]!);
  const m = INSTANT.exec(value);
  if (!m) return Number.NaN;
  const midnight = utcMidnight(m[1]!, m[2]!, m[3]!);
  const hours = Number(m[4]);
  const minutes = Number(m[5]);
  const seconds = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3));
  if (hours > 23 || minutes > 59 || seconds > 59) return Number.NaN;
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return Number.NaN;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return midnight + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis - offset;
}

/** 'YYYY-MM-DD' of the UTC day containing `ms` (years 0000-9999 only; callers clamp). */
export function utcDayString(ms: number): string {
  const d = new Date(ms);
  const y = String(d.getUTCFullYear()).padStart(4, '0');
  const m = String(d.getUTCMonth() + 1).padStart(2, '0');
  const day = String(d.getUTCDate()).padStart(2, '0');
  return `${y}-${m}-${day}`;
}
