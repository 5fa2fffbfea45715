// GET /groups/{id}/members.csv: every member with the user's email and names, as RFC 4180 CSV, streamed. The
// memberships come from one database cursor; the users are read a batch at a time by _id (the embedded database has no
// $lookup), so the export holds one batch in memory whatever the size of the group, and the stream's
// backpressure holds the cursor when the client reads slowly.
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { readUsersByIds } from '../directory/user-store.js';
import type { MembershipDoc } from './membership.model.js';
import { streamMembers } from './members.service.js';

export const MEMBERS_CSV_COLUMNS = ['externalId', 'email', 'firstName', 'lastName', 'source', 'addedAt'] as const;

/** Memberships whose users are read in one go. Small enough for point reads on the embedded database (user-store.ts). */
const USER_BATCH = 500;
const USER_PROJECTION = { _id: 1, email: 1, firstName: 1, lastName: 1 };

/**
 * A cell a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is
 * prefixed with `'`, which spreadsheets show as text (OWASP's advice against CSV injection). Names and emails
 * come from HR feeds and people's own input; externalIds, sources and timestamps never start with these.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

async function* rowsOf(batch: readonly MembershipDoc[]): AsyncGenerator<string[]> {
  const { byId } = await readUsersByIds(batch.map((m) => m.externalId), USER_PROJECTION);
  for (const m of batch) {
    // A membership whose user is gone (deleted meanwhile) keeps its row, with empty user cells.
    const user = byId.get(m.externalId);
    yield [m.externalId, user?.email ?? '', user?.firstName ?? '', user?.lastName ?? '', m.source, m.addedAt.toISOString()];
  }
}

async function* memberRows(groupId: string): AsyncGenerator<string[]> {
  let batch: MembershipDoc[] = [];
  for await (const m of streamMembers(groupId)) {
    batch.push(m);
    if (batch.length === USER_BATCH) {
      yield* rowsOf(batch);
      batch = [];
    }
  }
  if (batch.length) yield* rowsOf(batch);
}

/**
 * Writes the CSV of the group's members, in externalId order, header first, to `destination`, and ends it. On a
 * failure (the database, or the client going away) every stream of the chain is destroyed and the promise rejects.
 */
export async function writeMembersCsv(groupId: string, destination: Writable): Promise<void> {
  await pipeline(
    Readable.from(memberRows(groupId)),
    stringify({
      header: true,
      columns: [...MEMBERS_CSV_COLUMNS],
      record_delimiter: 'windows', // RFC 4180: CRLF
      // csv-stringify quotes a value holding the record delimiter (CRLF) but not a lone CR or LF; RFC 4180 quotes both.
      quoted_match: /[\r\n]/,
      cast: { string: neutraliseFormula },
    }),
    destination,
  );
}
