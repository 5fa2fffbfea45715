// POST /users/batch and CSV import: up to 10,000 whole users, each upserted by externalId. Every valid record is
// applied; every invalid one is reported (by index; a CSV import by line) and changes nothing; a record equal to
// what is stored counts as unchanged and writes nothing, so the same batch sent twice leaves the data (and
// updatedAt) as it was.
//
// Built for the embedded database, where only `{ _id: value }` filters use an index and every update is a read
// and a rewrite. A batch that looks new (a sample of it is read) has its new users inserted at once, in one
// unordered insert, without reading whether each exists (insertNew): the unique indexes on `_id` and emailLower
// refuse the few that exist or whose email is taken, and only those are read. Otherwise (and for those few) the
// batch's stored users are read at once (readUsersByIds: `$in` on MongoDB; point reads or one streamed scan on the
// embedded database), diffed in memory; new users are inserted in one unordered insert, changed users are written
// by _id with `$set`/`$unset` of the changed paths only (the adapter's bulkUpdateById), and unchanged users are not
// written at all. Changed emails are checked against their holders before writing (one query, or the scan that
// read the batch); new users' emails are checked by the unique index on emailLower, which also catches the clashes
// a concurrent writer creates meanwhile. The batch is applied a slice of users at a time, each slice under its
// users' leases (lease-slices.ts), so that a single write of one of its users waits for one slice only.
import type { FieldError } from '../platform/errors.js';
import { checkUserRecord, type UserRecord } from './user.schema.js';
import { diffUser, newUserDocument, updateOperators, type UserDiff } from './user-diff.js';
import type { UserDoc } from './user.model.js';
import { loadFieldDefinitions } from './field-definitions.service.js';
import type { FieldDefinitions } from './user-values.js';
import { forEachLeasedSlice } from './lease-slices.js';
import { db, isDuplicateKeyError } from '../platform/db/index.js';
import { atVersion, findEmailHolders, readUsersByIds, usersCollection } from './user-store.js';
import { settleOwed, writeUsers, type WriteContext } from './user-writes.js';
import type { PlannedChange } from './user-events.js';
import { BatchOutcome, rejectDuplicates, duplicateKeyIndexes, type BatchResult } from './batch-outcome.js';

interface Candidate {
  index: number;
  externalId: string;
  record: UserRecord;
}

interface Update extends Candidate {
  diff: UserDiff;
  /** The stored version the update is conditional on. */
  from: number;
}

/** A record refused before it reached the batch (e.g. a ragged CSV row). */
export interface RejectedRecord {
  externalId?: string;
  errors: FieldError[];
}

interface UserBatchOptions {
  /** Creates only: a record whose user exists fails (`externalId`: already exists) instead of replacing it. */
  createOnly?: boolean;
  /** Records refused before the batch (e.g. ragged CSV rows), by index. */
  rejected?: ReadonlyMap<number, RejectedRecord>;
  definitions?: FieldDefinitions;
  /** For a CSV: the line where each record starts; the answer then names records by `line` instead of `index`. */
  lines?: readonly number[];
}

export async function applyUserBatch(records: readonly unknown[], ctx: WriteContext, opts: UserBatchOptions = {}): Promise<BatchResult> {
  const defs = opts.definitions ?? (await loadFieldDefinitions());
  const rejected = opts.rejected ?? new Map<number, RejectedRecord>();
  const outcome = new BatchOutcome(opts.lines);
  let candidates: Candidate[] = [];
  records.forEach((raw, index) => {
    const refused = rejected.get(index);
    if (refused) return outcome.fail(index, refused.externalId, refused.errors);
    const { externalId, record, errors } = checkUserRecord(raw, defs);
    if (record && externalId !== undefined) candidates.push({ index, externalId, record });
    else outcome.fail(index, externalId, errors);
  });
  candidates = rejectDuplicates(candidates, (c) => c.externalId, 'externalId', 'this externalId', outcome);
  candidates = rejectDuplicates(candidates, (c) => c.record.email.toLowerCase(), 'email', 'this email', outcome);

  // A slice of users at a time, each under its users' leases (lease-slices.ts): a PATCH of a user in a running batch
  // waits for the user's slice, not for the whole batch.
  const run: BatchRun = { ctx, outcome, opts, later: new Set(candidates.map((c) => c.externalId)), deferred: [] };
  const stored = await sampleStored(candidates);
  const userOf = (c: Candidate) => c.externalId;
  await forEachLeasedSlice(candidates, userOf, ctx, async (slice, sliceCtx) => {
    for (const c of slice) run.later.delete(c.externalId);
    await applySlice(slice, stored, { ...run, ctx: sliceCtx });
  });
  // Records that claimed an address a user of a later slice held: that slice has now given it up, or kept it.
  const deferred = run.deferred.splice(0);
  if (deferred.length) await forEachLeasedSlice(deferred, userOf, ctx, (slice) => applySlice(slice, stored, run), { whole: true });
  return outcome.result();
}

/** One batch's state across its slices. */
interface BatchRun {
  ctx: WriteContext;
  outcome: BatchOutcome;
  opts: UserBatchOptions;
  /** Users of slices not applied yet. */
  later: Set<string>;
  /**
   * Records whose email a user of a later slice held when they were applied. An address that a user of the batch
   * gives up is free for another record of the batch, whichever slice each is in: these are applied again after
   * every slice (and fail then if the holder kept it).
   */
  deferred: Candidate[];
}

/** A record's email is held by `holder`: deferred if the holder's slice is still to come, else refused. */
function emailTaken(run: BatchRun, c: Candidate, holder: string): void {
  if (run.later.has(holder)) run.deferred.push(c);
  else run.outcome.fail(c.index, c.externalId, [{ path: 'email', message: `is already used by user ${holder}` }]);
}

/** One slice, under its users' leases. */
async function applySlice(slice: Candidate[], sampled: ReadonlySet<string> | undefined, run: BatchRun): Promise<void> {
  // What an earlier, cut-off run of this batch left owed is applied before this one answers.
  await settleOwed(new Set(slice.map((c) => c.externalId)));
  const rest = sampled ? await insertNew(slice, sampled, run) : slice;
  await applyRead(rest, run);
}

/** How many of a batch's users are read to tell whether it is mostly new: one round of point reads. */
const SAMPLE = 16;

/**
 * Whether a batch looks new, from a sample of it (at most a quarter of the sample stored): the sampled users found
 * stored, or undefined when it does not look new (a feed sent again), whose users are then read first, as insert
 * attempts would only fail. Read once per batch, outside the leases: it only chooses a path, and the unique indexes
 * and the reads under the leases decide.
 */
async function sampleStored(candidates: Candidate[]): Promise<ReadonlySet<string> | undefined> {
  const step = Math.max(1, Math.floor(candidates.length / SAMPLE));
  const sample = candidates.filter((_, i) => i % step === 0).slice(0, SAMPLE);
  if (sample.length === 0) return undefined;
  const found = await db().readByIds(usersCollection(), sample.map((c) => c.externalId), { projection: { _id: 1 } });
  return found.size * 4 > sample.length ? undefined : new Set(found.keys());
}

/**
 * The new users of a batch that looks new, inserted without reading whether each exists: on the embedded database
 * that read is a point read per user (`$in` scans the collection), where an HR feed's batch of new users is mostly
 * absent and its insert finds the few that are not. Each user's version 1 is claimed first like every directory
 * write's, as a presumed creation (user-events.ts): a taken claim, or an insert refused by a unique index (`_id`:
 * the user exists; or the email), leaves the user to applyRead, which reads them and writes what they need (the
 * sampled users found stored go there directly). Returns those left.
 */
async function insertNew(candidates: Candidate[], found: ReadonlySet<string>, run: BatchRun): Promise<Candidate[]> {
  const { ctx, outcome } = run;
  const fresh = candidates.filter((c) => !found.has(c.externalId));
  const planned = fresh.map((c): PlannedChange => ({ user: c.externalId, kind: 'user.created', changed: [], from: 0, presumed: true }));
  const { result: inserted } = await writeUsers(ctx, planned, async (events) => {
    // Created at the write's instant: how a replay tells this write's users from ones stored before (eventLanded).
    const docs = fresh.filter((c) => events.has(c.externalId)).map((c) => {
      const event = events.get(c.externalId)!;
      return newUserDocument(c.externalId, c.record, event.at, event.version);
    });
    const refused = await db().insertIgnoringDuplicates(usersCollection(), docs);
    const stored = new Map(docs.filter((_, i) => !refused.has(i)).map((d) => [d._id, d]));
    return { result: stored, stored: stored.keys(), docs: stored };
  });
  outcome.created += inserted.size;
  return candidates.filter((c) => !inserted.has(c.externalId));
}

/**
 * Applies the records of users read first: each user's stored state decides whether the record creates, updates or
 * leaves them unchanged.
 */
async function applyRead(candidates: Candidate[], run: BatchRun): Promise<void> {
  if (candidates.length === 0) return;
  const { ctx, outcome, opts } = run;
  const ids = candidates.map((c) => c.externalId);
  // Whole users (enrolments too): what this batch stores of them is handed to the reactions, which then read
  // nothing again (storedAfter below).
  const { byId, emailHolders } = await readUsersByIds(ids, {});

  let inserts: Candidate[] = [];
  let updates: Update[] = [];
  for (const c of candidates) {
    const existing = byId.get(c.externalId);
    if (!existing) {
      inserts.push(c);
      continue;
    }
    if (opts.createOnly) {
      outcome.fail(c.index, c.externalId, [{ path: 'externalId', message: 'already exists' }]);
      continue;
    }
    const diff = diffUser(existing, c.record);
    if (diff.changed.length === 0) outcome.unchanged++;
    else updates.push({ ...c, diff, from: existing.version ?? 0 });
  }

  // Emails taken by other users, looked up for changed emails only: an update command that hits the unique index
  // stops there on the embedded database and is applied again one update at a time (writeUpdates). New users'
  // emails are left to the unique index: the unordered insertMany reports each clash by index, and only those are
  // looked up (reportClashes), where looking up every new user's email cost a round trip per user. An address that
  // a user of this slice gives up is free for another record of it (updates are written before inserts); one that
  // a user of a later slice holds waits for that slice (emailTaken).
  const claims = updates.filter((u) => 'emailLower' in u.diff.set);
  const released = new Map(claims.map((u) => [byId.get(u.externalId)!.emailLower, u.externalId]));
  const holders = emailHolders ?? (await findEmailHolders(claims.map((c) => c.record.email.toLowerCase())));
  const clashes = new Set<Candidate>();
  for (const c of claims) {
    const email = c.record.email.toLowerCase();
    const holder = holders.get(email);
    if (holder !== undefined && holder !== c.externalId && released.get(email) !== holder) {
      emailTaken(run, c, holder);
      clashes.add(c);
    }
  }
  inserts = inserts.filter((c) => !clashes.has(c));
  updates = updates.filter((c) => !clashes.has(c));

  const planned: PlannedChange[] = [
    ...updates.map((u): PlannedChange => ({ user: u.externalId, kind: 'user.changed', changed: u.diff.changed, from: u.from })),
    ...inserts.map((c): PlannedChange => ({ user: c.externalId, kind: 'user.created', changed: [], from: 0 })),
  ];
  // Each user's next version is claimed before writing: if the writes stop half-way (the database goes away), the
  // users already stored still get their membership (settleOwed, the replay job), though a retry of this batch
  // finds them unchanged.
  const { refused } = await writeUsers(ctx, planned, async (events) => {
    const now = new Date();
    const stored = new Map<string, UserDoc>();
    const versionOf = (c: Candidate) => events.get(c.externalId)!.version;
    // Updates first: a user giving up an address in this batch frees it before a new user takes it.
    for (const u of await writeUpdates(updates.filter((u) => events.has(u.externalId)), run, now, versionOf)) {
      outcome.updated++;
      stored.set(u.externalId, storedAfter(byId.get(u.externalId)!, u.record, now, versionOf(u)));
    }
    for (const c of await writeInserts(inserts.filter((c) => events.has(c.externalId)), run, now, versionOf)) {
      outcome.created++;
      stored.set(c.externalId, newUserDocument(c.externalId, c.record, now, versionOf(c)));
    }
    return { result: undefined, stored: stored.keys(), docs: stored };
  });
  for (const c of [...updates, ...inserts]) if (refused.has(c.externalId)) outcome.fail(c.index, c.externalId, RACED);
}

/** A record whose user another writer (outside this batch's lease) wrote at the same moment. */
const RACED = [{ path: 'externalId', message: 'was written by another request at the same moment; send the record again' }];

/** The stored user after this batch's update of it: its record, with what a record does not carry kept. */
function storedAfter(existing: UserDoc, record: UserRecord, now: Date, version: number): UserDoc {
  const doc: UserDoc = { ...existing, ...newUserDocument(existing._id, record, now, version), enrollments: existing.enrollments ?? {}, createdAt: existing.createdAt };
  if (record.branch === undefined) delete doc.branch;
  return doc;
}

/** Reports the records whose write hit a unique index: the email's holder if there is one, else a race on _id. */
async function reportClashes(failed: Candidate[], run: BatchRun): Promise<void> {
  const holders = await findEmailHolders(failed.map((c) => c.record.email.toLowerCase()));
  for (const c of failed) {
    const holder = holders.get(c.record.email.toLowerCase());
    if (holder !== undefined && holder !== c.externalId) emailTaken(run, c, holder);
    else run.outcome.fail(c.index, c.externalId, RACED);
  }
}

/** The updates that were applied. */
async function writeUpdates(updates: Update[], run: BatchRun, now: Date, versionOf: (c: Candidate) => number): Promise<Update[]> {
  if (updates.length === 0) return [];
  const writeOf = (u: Update) => ({ _id: u.externalId, update: updateOperators(u.diff, now, versionOf(u)), where: atVersion(u.from) });
  try {
    await db().bulkUpdateById(usersCollection(), updates.map(writeOf));
    return updates;
  } catch (err) {
    if (!isDuplicateKeyError(err) && duplicateKeyIndexes(err) === undefined) throw err;
  }
  // Some update hit the email index. The embedded database stops an update command at its first failure even when unordered,
  // and does not say which, so each update is applied again on its own: they are idempotent `$set`/`$unset`s.
  const applied: Update[] = [];
  const failed: Update[] = [];
  for (const u of updates) {
    try {
      const { _id, update, where } = writeOf(u);
      await usersCollection().updateOne({ ...where, _id }, update);
      applied.push(u);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      failed.push(u);
    }
  }
  await reportClashes(failed, run);
  return applied;
}

/** The inserts that were applied; those a unique index refused are reported. */
async function writeInserts(inserts: Candidate[], run: BatchRun, now: Date, versionOf: (c: Candidate) => number): Promise<Candidate[]> {
  if (inserts.length === 0) return [];
  const refused = await db().insertIgnoringDuplicates(usersCollection(), inserts.map((c) => newUserDocument(c.externalId, c.record, now, versionOf(c))));
  await reportClashes(inserts.filter((_, i) => refused.has(i)), run);
  return inserts.filter((_, i) => !refused.has(i));
}
