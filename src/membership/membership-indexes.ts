// Secondary indexes of the membership collections, created on MongoDB only (FerretDB never reads them: see
// membership.model.ts). Idempotent; called at start by every process.
import { isEmbeddedDatabase } from '../directory/backend.js';
import { MEMBERSHIP_INDEXES } from './membership.model.js';

export async function ensureMembershipIndexes(): Promise<void> {
  if (await isEmbeddedDatabase()) return;
  for (const { model, keys } of MEMBERSHIP_INDEXES) await model.collection.createIndex(keys);
}
