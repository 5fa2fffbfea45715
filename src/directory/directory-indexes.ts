// Indexes whose key paths depend on data: `fields.<key>` (one per field definition) and
// `enrollments.<course>.status` (one per course). On MongoDB one wildcard index covers each family, so the user
// list's `field.<key>=` filters and a course's enrolment list are index scans.
//
// They are not declared in the schema because FerretDB v1 accepts a wildcard index and then fails every later
// write to the collection ("bad JSON path: '$**'"); FerretDB answers those queries by scanning anyway. So they
// are created only on MongoDB, at the first write that makes them useful (a field definition or a course).
import mongoose from 'mongoose';
import { UserModel } from './user.model.js';
import { isEmbeddedDatabase } from './backend.js';

export const WILDCARD_INDEXES: ReadonlyArray<Record<string, 1>> = [{ 'fields.$**': 1 }, { 'enrollments.$**': 1 }];

let ensured: Promise<void> | undefined;
let ensuredFor: unknown;

async function create(): Promise<void> {
  if (await isEmbeddedDatabase()) return;
  for (const keys of WILDCARD_INDEXES) await UserModel.collection.createIndex(keys);
}

/** Idempotent and cheap after the first call per connection. */
export function ensureDirectoryIndexes(): Promise<void> {
  const db = mongoose.connection.db;
  if (!ensured || ensuredFor !== db) {
    ensuredFor = db;
    ensured = create().catch((err: unknown) => {
      ensured = undefined;
      throw err;
    });
  }
  return ensured;
}
