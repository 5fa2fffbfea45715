// Which group is the default: one document with a fixed `_id`, naming the group. "At most one default group" is
// then true by construction: setting the default rewrites that one document, so two groups set at once end with the
// last writer's (there is never a moment, nor a lost race, that leaves two defaults or, by two writers clearing each
// other, none). The groups' own `isDefault` field is not read: a group is the default when this document names it,
// and GET /groups shows it from here.
import type { Collection } from 'mongodb';
import mongoose from 'mongoose';
import { isDuplicateKeyError } from '../platform/db/index.js';

const SINGLETON = 'default-group';

interface DefaultGroupDoc {
  _id: string;
  group: string;
  setAt: Date;
}

const collection = (): Collection<DefaultGroupDoc> => mongoose.connection.collection<DefaultGroupDoc>('settings');

/** The default group's id, or null when there is none. */
export async function readDefaultGroupId(): Promise<string | null> {
  return (await collection().findOne({ _id: SINGLETON }))?.group ?? null;
}

/** Makes the group the default (whichever group was, no longer is). */
export async function setDefaultGroup(groupId: string, at = new Date()): Promise<void> {
  const write = () => collection().updateOne({ _id: SINGLETON }, { $set: { group: groupId, setAt: at } }, { upsert: true });
  try {
    await write();
  } catch (err) {
    // Two first-ever upserts at once: one insert loses on the `_id`; the document now exists, so update it.
    if (!isDuplicateKeyError(err)) throw err;
    await write();
  }
}

/** The group is no longer the default, if it was (another group set meanwhile stays the default). */
export async function clearDefaultGroup(groupId: string): Promise<void> {
  await collection().deleteOne({ _id: SINGLETON, group: groupId });
}
