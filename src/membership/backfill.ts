// Backfills: a field a new read path needs, given to every document stored before it existed (every membership its
// page, every history entry its slot), by each process at start until one finishes.
//
// That one finished is a fact about the whole database that, once true, stays true: a completion mark, recorded as a
// `settings` document. The read paths ask on every page, so a process remembers it per database once it has seen
// it: one read per page until then, none after. The backfill itself asks the database again, since another process
// may have finished it meanwhile.
import mongoose from 'mongoose';
import type { Collection, Document } from 'mongodb';
import { db } from '../platform/db/index.js';

export interface CompletionMark {
  /** Recorded, as far as this process knows (remembered once true, per database). */
  isComplete(): Promise<boolean>;
  /** Recorded, read again from the database. */
  isRecorded(): Promise<boolean>;
  record(): Promise<void>;
}

const settings = () => mongoose.connection.collection<{ _id: string; at: Date }>('settings');

export function completionMark(id: string): CompletionMark {
  const seenIn = new Set<string>();
  const mark: CompletionMark = {
    async isComplete() {
      const database = mongoose.connection.name;
      if (!seenIn.has(database) && (await mark.isRecorded())) seenIn.add(database);
      return seenIn.has(database);
    },
    async isRecorded() {
      return (await settings().findOne({ _id: id })) !== null;
    },
    async record() {
      await settings().updateOne({ _id: id }, { $set: { at: new Date() } }, { upsert: true });
    },
  };
  return mark;
}

/** Documents given their field per write. */
const BACKFILL_BATCH = 1000;

/**
 * Gives every document of `coll` without `field` its value (`valueOf`, a function of the document, so running it
 * twice or in two processes at once is harmless), in batches, then records `mark`. Returns how many it filled; none
 * once the mark is recorded. `beforeWrite` runs before each batch is written (what must exist before a reader can
 * meet the field).
 */
export async function backfillField<T extends Document & { _id: string }>(opts: {
  coll: Collection<T>;
  field: string;
  /** The fields `valueOf` reads. */
  projection: Record<string, 1>;
  valueOf(doc: T): string;
  mark: CompletionMark;
  beforeWrite?(values: readonly string[]): Promise<void>;
}): Promise<number> {
  if (await opts.mark.isRecorded()) return 0;
  let filled = 0;
  let batch: Array<{ _id: string; value: string }> = [];
  const flush = async () => {
    await opts.beforeWrite?.(batch.map((b) => b.value));
    await db().bulkUpdateById(opts.coll, batch.map((b) => ({ _id: b._id, update: { $set: { [opts.field]: b.value } } })));
    filled += batch.length;
    batch = [];
  };
  const missing = opts.coll.find({ [opts.field]: { $exists: false } } as never, { projection: { _id: 1, ...opts.projection } }).batchSize(2000);
  for await (const doc of missing) {
    batch.push({ _id: doc._id as string, value: opts.valueOf(doc as T) });
    if (batch.length >= BACKFILL_BATCH) await flush();
  }
  if (batch.length) await flush();
  await opts.mark.record();
  return filled;
}
