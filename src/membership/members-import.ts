// POST /groups/{id}/members/import: the CSV association upload. A header row names the users by an `externalId` or
// an `email` column (or both); other columns are ignored, so that a members.csv export can be sent back as it is.
// Emails match case-insensitively. Every row that names a user who may join is applied (source csv); every other row is
// reported by its line (header = 1, platform/csv.ts) and changes nothing. The same file sent twice adds nothing the
// second time: its users are then members already ("unchanged").
//
// Rows: a row with no cell filled is a blank line and is skipped silently. A user named on an earlier row is
// "unchanged" on the later one (a list that names someone twice asks for nothing more; it is not a mistake worth
// failing the row for). A row naming no existing user, an excluded user, or (on an automatic group without
// includeInactive) an inactive one fails, as the same user added by hand would (409).
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { parseCsvRows } from '../platform/csv.js';
import { ValidationError, type FieldError } from '../platform/errors.js';
import type { Metrics } from '../platform/metrics.js';
import { db } from '../platform/db/index.js';
import type { GroupDoc } from '../groups/group.model.js';
import { usersCollection } from '../directory/user-store.js';
import { addAllToGroup, type UserStatus } from './members-bulk.js';

export interface ImportRowError {
  line: number;
  externalId?: string;
  email?: string;
  errors: FieldError[];
}

export interface MembersImportResult {
  added: number;
  unchanged: number;
  failed: number;
  errors: ImportRowError[];
}

interface ImportUser extends UserStatus {
  emailLower: string;
}

interface Row {
  line: number;
  externalId?: string;
  email?: string;
  /** The user the row names, once resolved. */
  user?: ImportUser;
}

function readHeader(cells: string[]): { idAt: number; emailAt: number } {
  // A column named twice is refused, as the users import refuses it: which of the two names the users is a guess.
  const repeated = [...new Set(cells.filter((name, i) => cells.indexOf(name) !== i))];
  if (repeated.length) {
    throw new ValidationError(
      `The CSV header names ${repeated.length > 1 ? 'columns' : 'a column'} twice.`,
      repeated.map((name) => ({ path: name || 'header', message: 'is a column named twice' })),
    );
  }
  const idAt = cells.indexOf('externalId');
  const emailAt = cells.indexOf('email');
  if (idAt < 0 && emailAt < 0) {
    throw new ValidationError('The CSV header names neither an externalId nor an email column.', [
      { path: 'externalId', message: 'is missing from the header: name the users by an externalId or an email column' },
      { path: 'email', message: 'is missing from the header: name the users by an externalId or an email column' },
    ]);
  }
  return { idAt, emailAt };
}

/** The rows of the file, or a 400 for a file without a usable header. */
export function parseMembersCsv(text: string): Row[] {
  const rows = parseCsvRows(text);
  if (rows.length === 0) throw new ValidationError('The CSV is empty.', [{ path: 'body', message: 'is empty: send a header row and one row per user' }]);
  const [header, ...data] = rows;
  const { idAt, emailAt } = readHeader(header!.cells);
  const out: Row[] = [];
  for (const { cells, line } of data) {
    if (cells.every((c) => c === '')) continue;
    const externalId = idAt >= 0 ? cells[idAt] : undefined;
    const email = emailAt >= 0 ? cells[emailAt] : undefined;
    out.push({ line, ...(externalId ? { externalId } : {}), ...(email ? { email } : {}) });
  }
  return out;
}

/** The users the rows name: by externalId, and by lower-cased email, each in one read through the database adapter. */
async function resolveUsers(rows: readonly Row[]): Promise<{ byId: Map<string, ImportUser>; byEmail: Map<string, ImportUser> }> {
  const ids = [...new Set(rows.flatMap((r) => (r.externalId ? [r.externalId] : [])))];
  const emails = [...new Set(rows.flatMap((r) => (r.email ? [r.email.toLowerCase()] : [])))];
  const projection = { _id: 1, emailLower: 1, status: 1 };
  const [byId, found] = await Promise.all([
    db().readByIds(usersCollection() as unknown as Collection<ImportUser>, ids, { projection }),
    db().readWhereIn(usersCollection() as unknown as Collection<ImportUser>, 'emailLower', emails, { projection }),
  ]);
  return { byId, byEmail: new Map(found.map((u) => [u.emailLower, u])) };
}

function rowError(row: Row, errors: FieldError[]): ImportRowError {
  return { line: row.line, ...(row.externalId ? { externalId: row.externalId } : {}), ...(row.email ? { email: row.email } : {}), errors };
}

/** Names the user of each row (`row.user`), or says why it names none. */
function matchRow(row: Row, users: Awaited<ReturnType<typeof resolveUsers>>): FieldError[] {
  if (!row.externalId && !row.email) return [{ path: 'row', message: 'names no user: fill the externalId or the email cell' }];
  const emailLower = row.email?.toLowerCase();
  if (row.externalId) {
    const user = users.byId.get(row.externalId);
    if (!user) return [{ path: 'externalId', message: `no user has the externalId ${row.externalId}` }];
    if (emailLower !== undefined && user.emailLower !== emailLower) return [{ path: 'email', message: `is not the email of user ${row.externalId}` }];
    row.user = user;
    return [];
  }
  const holder = users.byEmail.get(emailLower!);
  if (!holder) return [{ path: 'email', message: `no user has the email ${row.email}` }];
  row.user = holder;
  return [];
}

export async function importMembersCsv(group: GroupDoc, text: string, actor: string, metrics?: Metrics): Promise<MembersImportResult> {
  const rows = parseMembersCsv(text);
  const users = await resolveUsers(rows);
  const errors: ImportRowError[] = [];
  let repeated = 0;
  const firstRowOf = new Map<string, Row>();
  for (const row of rows) {
    const problems = matchRow(row, users);
    if (problems.length) errors.push(rowError(row, problems));
    else if (firstRowOf.has(row.user!._id)) repeated++;
    else firstRowOf.set(row.user!._id, row);
  }
  const ctx = { source: 'csv' as const, reason: 'added by CSV upload', actor, runKey: `csv:${randomUUID()}`, at: new Date(), ...(metrics ? { metrics } : {}) };
  const outcome = await addAllToGroup(group, [...firstRowOf.values()].map((r) => r.user!), ctx);
  const refusal = (user: string): FieldError | undefined => {
    if (outcome.excluded.has(user)) return { path: 'row', message: `user ${user} is excluded from this group; remove the exclusion first` };
    if (outcome.inactive.has(user)) return { path: 'row', message: `user ${user} is inactive and this group does not include inactive users` };
    return undefined;
  };
  for (const [user, row] of firstRowOf) {
    const problem = refusal(user);
    if (problem) errors.push(rowError(row, [problem]));
  }
  // A later row naming a refused user is counted as unchanged (nothing more was asked): only its first row fails.
  errors.sort((a, b) => a.line - b.line);
  return { added: outcome.added.size, unchanged: outcome.unchanged.size + repeated, failed: errors.length, errors };
}
