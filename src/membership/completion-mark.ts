// A fact about a whole database that, once true, stays true: a backfill finished once, in any process (every
// membership has its page, every history entry its slot). Recorded as a `settings` document. The read paths ask on
// every page, so a process remembers the fact per database once it has seen it: one read per page until then, none
// after. The backfill itself asks the database again, since another process may have finished it meanwhile.
import mongoose from 'mongoose';

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
