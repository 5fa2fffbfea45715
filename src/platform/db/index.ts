// What domain code uses of the database layer: the adapter (`db()`), the recognition of a duplicate key, and
// in-process locks for read-modify-write (FerretDB rewrites whole documents with no transaction).
export { db, type DbAdapter, type ReadOptions } from './adapter.js';
export { isDuplicateKeyError } from './duplicate-key.js';
export { withLocks } from './locks.js';
export { declareIndex } from './connection.js';
