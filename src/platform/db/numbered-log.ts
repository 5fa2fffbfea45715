// Logs whose entries are numbered 1, 2, 3… with no gaps, across any number of processes: the snapshot's change feed
// (snapshot/change-feed.ts) and the membership change log (changes/change-log.ts). A number is taken by inserting
// the entry with that number as its `_id`, the one write with exactly one winner on both backends (FerretDB's `$inc`
// and compare-and-set are not atomic); a writer tries the number after the highest it knows of and moves on at each
// duplicate, so an entry is written only once every lower number is taken, and the first number a reader finds
// missing is the head. A head document keeps the highest number known taken, as a hint (it may lag, never lead).
import type { Collection, Document, OptionalUnlessRequiredId } from 'mongodb';
import { isDuplicateKeyError } from './duplicate-key.js';

/**
 * Inserts `body` as the first free number after `after`; returns the number it took. `body` may depend on the number
 * (a field derived from it, e.g. the change feed's read bucket).
 */
export async function insertNumbered<T extends Document & { _id: string }>(
  entries: Collection<T>,
  idOf: (seq: number) => string,
  body: Omit<T, '_id'> | ((seq: number) => Omit<T, '_id'>),
  after: number,
): Promise<number> {
  for (let seq = after + 1; ; seq++) {
    try {
      await entries.insertOne({ _id: idOf(seq), ...(typeof body === 'function' ? body(seq) : body) } as unknown as OptionalUnlessRequiredId<T>);
      return seq;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
}

/** Raises the head hint `headId` to `seq`. */
export async function raiseHead<H extends Document & { _id: string; seq: number }>(heads: Collection<H>, headId: H['_id'], seq: number): Promise<void> {
  try {
    await (heads as unknown as Collection<{ _id: string; seq: number }>).updateOne({ _id: headId }, { $max: { seq } }, { upsert: true });
  } catch (err) {
    // Two first upserts at once on the embedded database: the other created the hint, which is all a hint needs.
    if (!isDuplicateKeyError(err)) throw err;
  }
}
