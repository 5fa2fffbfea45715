// The one way a stored group's configuration is changed: conditional on the version read, moving it to the next.
// Every writer holds the group's lease (groupLock) around its read and this write; the condition is what refuses a
// writer that lost the lease meanwhile (atomic with the write on MongoDB; checked between the read and the rewrite
// on FerretDB, ../shared/FERRETDB.md). Groups stored before versions have none, read as 0, and are not checked.
import type { Collection, Document } from 'mongodb';
import { ConflictError } from '../platform/errors.js';
import { GroupModel, type GroupDoc } from './group.model.js';

const groups = (): Collection<GroupDoc> => GroupModel.collection as unknown as Collection<GroupDoc>;

/** Applies `update` ($set, $unset) to the group read as `read`; its version moves on by one. */
export async function writeGroup(read: Pick<GroupDoc, '_id' | 'version'>, update: { $set: Document; $unset?: Document }): Promise<void> {
  const from = read.version ?? 0;
  const ops: Document = { $set: { ...update.$set, version: from + 1 } };
  if (update.$unset && Object.keys(update.$unset).length) ops.$unset = update.$unset;
  const written = await groups().updateOne({ _id: read._id, ...(from > 0 ? { version: from } : {}) }, ops);
  if (written.matchedCount === 0) throw new ConflictError(`Group ${read._id} was changed by another request at the same moment; read it again and retry.`);
}
