// Dates in rules and facts are strings: calendar dates 'YYYY-MM-DD' (days in the service's TIMEZONE: each begins
// at midnight there) or ISO 8601 instants with an explicit offset ('2024-05-01T09:30:00Z', '...+02:00'). Nothing
// else is a date: an instant without an offset would depend on the server's time zone, so it is refused rather
// than guessed. Zone offsets come from Node's Intl (full ICU in Node 20), so no time zone library is needed.

export const DAY_MS = 86_400_000;

/** The zone calendar dates are days in: the process's TIMEZONE, set once at start (useTimeZone). */
let zone = 'UTC';
let zoneFormat: Intl.DateTimeFormat | null = null;

/** True when `name` is an IANA zone this Node knows ('Europe/Lisbon', 'UTC'). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Calendar dates are read in `name` from now on (start() calls it with TIMEZONE; callers validated the name). */
export function useTimeZone(name: string): void {
  if (name === zone) return;
  zoneFormat =
    name === 'UTC'
      ? null
      : new Intl.DateTimeFormat('en-US', {
          timeZone: name,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
  zone = name;
  cache.clear();
  shiftCache.clear();
}

export function timeZone(): string {
  return zone;
}

/** The zone's offset from UTC at instant `ms`, in ms (Lisbon in summer: +3,600,000). */
export function zoneOffset(ms: number): number {
  if (!zoneFormat) return 0;
  const parts: Record<string, number> = {};
  for (const p of zoneFormat.formatToParts(ms)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = new Date(0);
  wall.setUTCFullYear(parts.year!, parts.month! - 1, parts.day!);
  wall.setUTCHours(parts.hour!, parts.minute!, parts.second!, 0);
  return wall.getTime() - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The first instant of the calendar day whose UTC midnight is `utcDay` in the zone: its local midnight, or where a
 * daylight-saving jump skips midnight, the instant the day begins (the jump itself).
 */
function zoneDayStart(utcDay: number): number {
  if (!zoneFormat) return utcDay;
  const before = zoneOffset(utcDay - 14 * 3_600_000);
  const after = zoneOffset(utcDay + 14 * 3_600_000);
  const fits = [utcDay - before, utcDay - after].filter((t) => zoneOffset(t) === utcDay - t);
  if (fits.length) return Math.min(...fits);
  // Midnight does not exist that day: the day begins at the jump, between the two readings.
  let lo = utcDay - after;
  let hi = utcDay - before;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffset(mid) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

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
  if (dateOnly) {
    const day = utcMidnight(dateOnly[1]!, dateOnly[2]!, dateOnly[3]!);
    return Number.isNaN(day) ? day : zoneDayStart(day);
  }
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

/** Day shifts already computed ('2024-05-01|90' → instant): a sync asks the same few again and again. Bounded. */
const shiftCache = new Map<string, number>();

/**
 * `value` plus `days`: for an instant, days × 24 h; for a calendar date, the start of the day `days` whole days
 * later in the zone plus the fraction as hours, so that a day of 23 or 25 hours still ends at local midnight.
 * NaN when `value` is not a date or `days` is not a finite number ≥ 0.
 */
export function addDays(value: unknown, days: number): number {
  const at = parseDate(value);
  if (Number.isNaN(at) || !Number.isFinite(days) || days < 0) return Number.NaN;
  if ((value as string).length !== 10) return at + days * DAY_MS;
  const key = `${value as string}|${days}`;
  let ms = shiftCache.get(key);
  if (ms === undefined) {
    const whole = Math.floor(days);
    const [y, m, d] = (value as string).split('-').map(Number) as [number, number, number];
    const date = new Date(0);
    date.setUTCFullYear(y, m - 1, d + whole);
    ms = zoneDayStart(date.getTime()) + (days - whole) * DAY_MS;
    if (shiftCache.size >= CACHE_LIMIT) shiftCache.clear();
    shiftCache.set(key, ms);
  }
  return ms;
}

/** True when `value` is a calendar date string ('YYYY-MM-DD'), a day in the zone rather than an instant. */
export function isCalendarDate(value: unknown): boolean {
  return typeof value === 'string' && value.length === 10 && !Number.isNaN(parseDate(value));
}

/** 'YYYY-MM-DD' of the UTC day containing `ms` (years 0000-9999 only; callers clamp). */
export function utcDayString(ms: number): string {
  const d = new Date(ms);
  const y = String(d.getUTCFullYear()).padStart(4, '0');
  const m = String(d.getUTCMonth() + 1).padStart(2, '0');
  const day = String(d.getUTCDate()).padStart(2, '0');
  return `${y}-${m}-${day}`;
}
