// Low-level access to the users collection shared by the directory services: the driver's collection (the
// services build exact documents and `$set`/`$unset` paths themselves, with explicit timestamps), reads of many
// users at once at the lowest cost each backend allows, bulk updates the embedded database answers, and the
// recognition of unique-index clashes, which the two backends report differently.
import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import mongoose from 'mongoose';
import { UserModel, type UserDoc } from './user.model.js';
import { isEmbeddedDatabase } from '../platform/database.js';
import { EMBEDDED_MAX_UPDATES_PER_COMMAND, EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT } from '../platform/embedded-db.js';

export function usersCollection(): Collection<UserDoc> {
  return UserModel.collection as unknown as Collection<UserDoc>;
}

// A unique-index violation, as each backend reports it (the recognition lives with the backend checks).
export { isDuplicateKeyError } from '../platform/database.js';

// Costs measured on FerretDB v1.24 (SQLite): a point read by _id ~0.5 ms at 16-32 in flight; a scan ~0.1-0.2 ms
// per document whatever the filter (only `{ _id: value }` uses an index); `{ _id: { $in: ids } }` is a scan that
// also compares each document with the list: 10,000 ids in 50,000 users took 26 s, against 9 s for reading them
// all and 5 s for 10,000 point reads. So on FerretDB a few users are read by _id and many by one streamed scan.
const POINT_READ_COST_IN_SCANNED_DOCS = 3;
const POINT_READS_IN_FLIGHT = 16;

/** The number of users, from the collection's metadata (count commands scan on FerretDB; collStats does not). */
async function storedUserCount(): Promise<number> {
  const db = mongoose.connection.db;
  if (!db) throw new Error('database not connected');
  try {
    const stats = await db.command({ collStats: usersCollection().collectionName });
    return Number(stats.count ?? 0);
  } catch (err) {
    if ((err as { codeName?: string }).codeName === 'NamespaceNotFound') return 0;
    throw err;
  }
}

export interface UsersRead {
  byId: Map<string, UserDoc>;
  /** emailLower → externalId of every user, when the read scanned them all anyway (spares findEmailHolders). */
  emailHolders?: Map<string, string>;
}

function keepsEmail(projection: Document): boolean {
  const inclusive = Object.entries(projection).some(([k, v]) => k !== '_id' && v === 1);
  return inclusive ? projection.emailLower === 1 : projection.emailLower !== 0;
}

/** The stored users among `ids`, with `projection` (which must keep emailLower for emailHolders to be filled). */
export async function readUsersByIds(ids: readonly string[], projection: Document): Promise<UsersRead> {
  const byId = new Map<string, UserDoc>();
  if (ids.length === 0) return { byId };
  if (!(await isEmbeddedDatabase())) {
    for (const d of await usersCollection().find({ _id: { $in: [...ids] } }, { projection }).toArray()) byId.set(d._id, d);
    return { byId };
  }
  if (ids.length * POINT_READ_COST_IN_SCANNED_DOCS < (await storedUserCount())) {
    let next = 0;
    const reader = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const doc = await usersCollection().findOne({ _id: id }, { projection });
        if (doc) byId.set(id, doc);
      }
    };
    await Promise.all(Array.from({ length: Math.min(POINT_READS_IN_FLIGHT, ids.length) }, reader));
    return { byId };
  }
  const wanted = new Set(ids);
  const emailHolders = new Map<string, string>();
  for await (const doc of usersCollection().find({}, { projection, batchSize: 2000 })) {
    if (doc.emailLower !== undefined) emailHolders.set(doc.emailLower, doc._id);
    if (wanted.has(doc._id)) byId.set(doc._id, doc);
  }
  return { byId, ...(keepsEmail(projection) ? { emailHolders } : {}) };
}

/** Which users hold these lower-cased emails: emailLower → externalId. One query, whatever the number. */
export async function findEmailHolders(emailLowers: readonly string[]): Promise<Map<string, string>> {
  const holders = new Map<string, string>();
  if (emailLowers.length === 0) return holders;
  const projection = { _id: 1, emailLower: 1 };
  if (emailLowers.length === 1 || !(await isEmbeddedDatabase())) {
    const filter = { emailLower: emailLowers.length === 1 ? emailLowers[0]! : { $in: [...emailLowers] } };
    for (const d of await usersCollection().find(filter, { projection }).toArray()) holders.set(d.emailLower, d._id);
    return holders;
  }
  // FerretDB scans for any email filter, and a long $in costs more than the scan: read them all, keep the wanted.
  const wanted = new Set(emailLowers);
  for await (const d of usersCollection().find({}, { projection, batchSize: 5000 })) {
    if (wanted.has(d.emailLower)) holders.set(d.emailLower, d._id);
  }
  return holders;
}

/**
 * FerretDB v1.24 keeps one pooled PostgreSQL connection per statement of an `update` command until the command
 * returns, and never answers once its pool runs dry. A bulkWrite's updates go as one command, so updates are sent
 * in commands of at most MAX_UPDATES_PER_COMMAND statements, at most EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT at a time
 * in this process whoever sends them; the budget is sized with the pools in src/platform/embedded-db.ts. MongoDB
 * is indifferent to the split.
 */
export const MAX_UPDATES_PER_COMMAND = EMBEDDED_MAX_UPDATES_PER_COMMAND;
let updateCommandsInFlight = 0;
const waitingForUpdateSlot: Array<() => void> = [];

async function inUpdateSlot<T>(send: () => Promise<T>): Promise<T> {
  if (updateCommandsInFlight < EMBEDDED_UPDATE_COMMANDS_IN_FLIGHT) updateCommandsInFlight++;
  else await new Promise<void>((resolve) => waitingForUpdateSlot.push(resolve));
  try {
    return await send();
  } finally {
    // The slot passes straight to the next waiter, so the count never goes above the limit.
    const next = waitingForUpdateSlot.shift();
    if (next) next();
    else updateCommandsInFlight--;
  }
}

/**
 * Unordered updateOne-by-_id writes, in commands the embedded database answers. Every command is sent and
 * settles before the first failure is thrown, so a caller that falls back to single updates races none of them.
 */
export async function bulkUpdateById<T extends Document>(
  collection: Collection<T>,
  updates: ReadonlyArray<{ _id: unknown; update: Document }>,
): Promise<void> {
  const sent: Array<Promise<unknown>> = [];
  for (let i = 0; i < updates.length; i += MAX_UPDATES_PER_COMMAND) {
    const ops = updates.slice(i, i + MAX_UPDATES_PER_COMMAND).map((u) => ({ updateOne: { filter: { _id: u._id }, update: u.update } }));
    sent.push(inUpdateSlot(() => collection.bulkWrite(ops as AnyBulkWriteOperation<T>[], { ordered: false })));
  }
  const failed = (await Promise.allSettled(sent)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
