// Which errors mean "the database cannot be reached right now" rather than "this request is wrong" or "a bug":
// the driver found no server within serverSelectionTimeoutMS, a connection broke under an operation, the pool
// was cleared after such a break, or the client is closed. A client should retry those later (503), and an
// operator should look at the database, not at the service's code.
import { MongoNetworkError, MongoNotConnectedError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';

// MongoNetworkError covers the pool-cleared errors (the driver's PoolClearedError extends it).
const UNAVAILABLE = [MongoServerSelectionError, MongoNetworkError, MongoTopologyClosedError, MongoNotConnectedError];
/** Not exported as classes by the driver: a closed pool, and no pooled connection free within waitQueueTimeoutMS. */
const UNAVAILABLE_NAMES = new Set(['MongoPoolClosedError', 'MongoWaitQueueTimeoutError', 'MongooseServerSelectionError']);

/**
 * How long a client should wait before retrying while the database is away: the embedded database is restarted
 * by the service within about a second, and MongoDB's driver reselects a server as soon as one answers.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

/**
 * True when err (or what it wraps: `cause`, a bulk write's `errorResponse`, the errors of an AggregateError) says the database is unreachable.
 * Other driver errors (a duplicate key, a bad query) are not: they are answered as what they are.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  if (UNAVAILABLE.some((cls) => err instanceof cls)) return true;
  if (UNAVAILABLE_NAMES.has((err as Error).name)) return true;
  // A bulk write (insertMany) cut off by a broken connection throws a MongoBulkWriteError holding the network
  // error as its errorResponse.
  const e = err as { cause?: unknown; errorResponse?: unknown; errors?: unknown };
  const inner = [e.cause, e.errorResponse, ...(Array.isArray(e.errors) ? (e.errors as unknown[]) : [])];
  return inner.some((e) => isDatabaseUnavailable(e, depth + 1));
}
