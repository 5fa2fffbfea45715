// GET /groups/{id}/members.csv: every member with the user's email and names, as RFC 4180 CSV, streamed. The
// memberships come from one database cursor in externalId order, and the users beside them in one of two ways,
// whichever reads less: for a group that is small beside the directory, a batch at a time by _id (the embedded
// database has no $lookup); for a large one, one cursor over the users in _id order, merged with the memberships (on
// the embedded database a point read costs about three streamed documents, so 100,000 members read one by one take
// far longer than streaming the directory once). Either way the export holds one batch in memory whatever the size
// of the group, and the stream's backpressure holds the cursors when the client reads slowly.
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Collection } from 'mongodb';
import { readUsersByIds, usersCollection } from '../directory/user-store.js';
import type { UserDoc } from '../directory/user.model.js';
import { db } from '../platform/db/index.js';
import { readMemberCounts } from './group-state.js';
import type { MembershipDoc } from './membership.model.js';
import { streamMembers } from './members.service.js';

export const MEMBERS_CSV_COLUMNS = ['externalId', 'email', 'firstName', 'lastName', 'source', 'addedAt'] as const;

/** Memberships whose users are read in one go. Small enough for point reads on the embedded database (user-store.ts). */
const USER_BATCH = 500;
const USER_PROJECTION = { _id: 1, email: 1, firstName: 1, lastName: 1 };
/** Reading a user by _id costs about as much as streaming this many (measured on the embedded database). */
const LOOKUP_COST_IN_STREAMED_USERS = 3;

/**
 * A cell a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is
 * prefixed with `'`, which spreadsheets show as text (OWASP's advice against CSV injection). Names and emails
 * come from HR feeds and people's own input; externalIds, sources and timestamps never start with these.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

type UserCells = Pick<UserDoc, '_id' | 'email' | 'firstName' | 'lastName'>;

const row = (m: MembershipDoc, user: UserCells | undefined): string[] =>
  // A membership whose user is gone (deleted meanwhile) keeps its row, with empty user cells.
  [m.externalId, user?.email ?? '', user?.firstName ?? '', user?.lastName ?? '', m.source, m.addedAt.toISOString()];

async function* rowsOf(batch: readonly MembershipDoc[], known: ReadonlyMap<string, UserCells> = new Map()): AsyncGenerator<string[]> {
  const missing = batch.filter((m) => !known.has(m.externalId)).map((m) => m.externalId);
  const { byId } = missing.length ? await readUsersByIds(missing, USER_PROJECTION) : { byId: new Map<string, UserCells>() };
  for (const m of batch) yield row(m, known.get(m.externalId) ?? byId.get(m.externalId));
}

/** Users by _id a batch of memberships at a time. */
async function* lookedUpRows(groupId: string): AsyncGenerator<string[]> {
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
 * Users from one cursor in _id order, merged with the memberships in externalId order. A member the merge does not
 * meet (the two orders disagree on some characters, or the user is gone) is looked up by _id with its batch.
 */
async function* mergedRows(groupId: string): AsyncGenerator<string[]> {
  const users = (usersCollection() as unknown as Collection<UserCells>).find({}, { projection: USER_PROJECTION, sort: { _id: 1 }, batchSize: 2000 });
  try {
    let user = await users.next();
    let batch: MembershipDoc[] = [];
    let known = new Map<string, UserCells>();
    for await (const m of streamMembers(groupId)) {
      while (user && user._id < m.externalId) user = await users.next();
      if (user && user._id === m.externalId) known.set(m.externalId, user);
      batch.push(m);
      if (batch.length === USER_BATCH) {
        yield* rowsOf(batch, known);
        batch = [];
        known = new Map();
      }
    }
    if (batch.length) yield* rowsOf(batch, known);
  } finally {
    await users.close();
  }
}

async function* memberRows(groupId: string): AsyncGenerator<string[]> {
  const [counts, userCount] = await Promise.all([readMemberCounts([groupId]), db().estimateCount(usersCollection())]);
  const members = counts.get(groupId) ?? 0;
  yield* members * LOOKUP_COST_IN_STREAMED_USERS >= userCount ? mergedRows(groupId) : lookedUpRows(groupId);
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
