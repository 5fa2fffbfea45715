// Instants for people in more than one place: support staff read the viewer's local time, the API and history
// speak UTC, so a time-based change shows both. Pure functions (unit-tested without a browser).

/** Whether the instant falls on a whole minute: then it is written to the minute, else to the second. */
const onTheMinute = (d: Date) => d.getUTCSeconds() === 0 && d.getUTCMilliseconds() === 0;

/** An instant in UTC as the API's words and the issue put it: "2027-03-02 09:14 UTC" (seconds when it has them). */
export function utcWords(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString().replace('T', ' ');
  return `${onTheMinute(d) ? text.slice(0, 16) : text.slice(0, 19)} UTC`;
}

/**
 * An instant for people in more than one place: the viewer's local time with its zone, then UTC
 * ("2 Mar 2027, 10:14 GMT+1 (2027-03-02 09:14 UTC)"). `locale` and `timeZone` default to the viewer's.
 */
export function instantWords(iso: string, locale?: string, timeZone?: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // timeZoneName cannot go with dateStyle/timeStyle (a RangeError): the parts are named one by one.
  const local = d.toLocaleString(locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(onTheMinute(d) ? {} : { second: '2-digit' as const }),
    timeZoneName: 'short',
    ...(timeZone ? { timeZone } : {}),
  });
  return `${local} (${utcWords(iso)})`;
}
