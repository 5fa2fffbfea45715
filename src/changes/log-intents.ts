// What a membership write is about to change, kept until the change is in the change log: the outbox's guarantee
// that nothing is lost and nothing is invented, whichever process dies where.
//
// The membership store writes an intent (one document per few thousand changes) before it touches memberships or
// history, and deletes it once every change it names is logged. A writer that dies in between (a hand edit has no
// re-run; a job's re-run may never come) leaves its intent behind. The sweep (finishStaleIntents, run by the
// reaction sweep job) takes each intent older than INTENT_GRACE_MS under a lease and lets the store settle it from
// what is stored: a change that happened is logged (its history written if the writer died before it), one that did
// not is never logged and its history entry goes. Readers therefore only ever see changes that happened, and
// every change that happened reaches them, late by at most the grace and the sweep's period.
import mongoose, { Schema } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Binary, type Collection } from 'mongodb';
import { db, declareIndex } from '../platform/db/index.js';
import { withLocks } from '../platform/db/locks.js';
import { LeaseWaitTimeoutError } from '../platform/db/leases.js';
import type { HistoryDoc } from '../membership/membership.model.js';

/** One change the writer is about to make: its history entry, and for a removal when the removed membership was added. */
export interface IntendedChange {
  entry: HistoryDoc;
  /** A removal's membership `addedAt`: the membership is still there, unremoved, while one with this instant exists. */
  removedAddedAt?: Date;
}

interface IntentDoc {
  _id: string;
  /** When the writer opened it: the sweep leaves younger intents to their writer. */
  at: Date;
  /** The writer's run key. */
  run: string;
  /**
   * The changes, as one compressed JSON value (packChanges): the embedded database decodes a stored document field
   * by field, and 2,000 changes as fields made opening and closing a sync's intents cost as much as writing its
   * memberships. Read only by the sweep.
   */
  packed?: Binary;
  /** The changes as fields: intents opened before they were packed. */
  changes?: IntendedChange[];
}

const intentSchema = new Schema(
  { _id: String, at: Date, run: String, packed: Buffer, changes: [Schema.Types.Mixed] },
  { versionKey: false, collection: 'membership_log_intents' },
);
const IntentModel = mongoose.model('MembershipLogIntent', intentSchema);
declareIndex(IntentModel as unknown as mongoose.Model<never>, { at: 1 });
declareIndex(IntentModel as unknown as mongoose.Model<never>, { run: 1 });

const intents = (): Collection<IntentDoc> => IntentModel.collection as unknown as Collection<IntentDoc>;

/** Changes per intent document: a 50,000-change sync is 25 small documents, not one too large to store. */
const CHANGES_PER_INTENT = 2000;

/**
 * How old an intent must be before the sweep settles it. Far longer than any one store call takes (a few seconds for
 * a 5,000-change flush under load), so that the sweep does not race a writer that is merely slow.
 */
export const INTENT_GRACE_MS = 2 * 60_000;

/** Records what a write is about to change; returns the intents' ids, to close once it is logged. */
export async function openIntents(run: string, changes: readonly IntendedChange[], at = new Date()): Promise<string[]> {
  if (changes.length === 0) return [];
  const docs: IntentDoc[] = [];
  for (let start = 0; start < changes.length; start += CHANGES_PER_INTENT) {
    docs.push({ _id: randomUUID(), at, run, packed: await packChanges(changes.slice(start, start + CHANGES_PER_INTENT)) });
  }
  await intents().insertMany(docs, { ordered: false });
  return docs.map((d) => d._id);
}

const deflate = promisify(zlib.deflateRaw);
const inflate = promisify(zlib.inflateRaw);

async function packChanges(changes: readonly IntendedChange[]): Promise<Binary> {
  return new Binary(await deflate(JSON.stringify(changes), { level: 1 }));
}

/** An intent's changes, packed or (opened before packing) as fields; instants come back as dates. */
async function changesOf(intent: IntentDoc): Promise<IntendedChange[]> {
  if (!intent.packed) return intent.changes ?? [];
  const parsed = JSON.parse((await inflate(intent.packed.buffer)).toString('utf8')) as Array<{ entry: Omit<HistoryDoc, 'at'> & { at: string }; removedAddedAt?: string }>;
  return parsed.map((c) => ({
    entry: { ...c.entry, at: new Date(c.entry.at) },
    ...(c.removedAddedAt !== undefined ? { removedAddedAt: new Date(c.removedAddedAt) } : {}),
  }));
}

/** The write's changes are logged (or, for those that did not happen, never will be): its intents go. */
export async function closeIntents(ids: readonly string[]): Promise<void> {
  if (ids.length) await db().deleteByIds(intents(), ids);
}

/** Whether an intent of the same run other than `ids` is open: a re-run of that writer is under way. */
export async function otherIntentOfRun(intent: { ids: readonly string[]; run: string }): Promise<boolean> {
  return (await intents().findOne({ run: intent.run, _id: { $nin: [...intent.ids] } }, { projection: { _id: 1 } })) !== null;
}

/** Settles one abandoned intent from what is stored (the membership store's finishIntent). */
type FinishIntent = (intent: { ids: readonly string[]; run: string; changes: readonly IntendedChange[] }) => Promise<void>;

/**
 * Settles the intents older than the grace, oldest first, each under its own lease so that two sweeps never settle one
 * at once; returns how many it settled. One that fails stays for the next sweep.
 */
export async function finishStaleIntents(finish: FinishIntent, now = new Date(), max = 500): Promise<{ settled: number; failed: number }> {
  const stale = await intents()
    .find({ at: { $lt: new Date(now.getTime() - INTENT_GRACE_MS) } }, { projection: { _id: 1 } })
    .sort({ at: 1 })
    .limit(max)
    .toArray();
  let settled = 0;
  let failed = 0;
  for (const { _id } of stale) {
    try {
      await withLocks([`log-intent:${_id}`], async () => {
        // Read again under the lease: another sweep may have settled it meanwhile.
        const intent = await intents().findOne({ _id });
        if (!intent) return;
        await finish({ ids: [intent._id], run: intent.run, changes: await changesOf(intent) });
        await closeIntents([intent._id]);
        settled++;
      }, { waitMs: 0 });
    } catch (err) {
      if (!(err instanceof LeaseWaitTimeoutError)) failed++;
    }
  }
  return { settled, failed };
}
