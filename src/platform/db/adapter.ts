// The one place that knows which database server runs. Domain code asks `db()` for what differs between MongoDB
// and FerretDB v1.24 (shared/FERRETDB.md): reading many documents by `_id` or by one field's values (an indexed
// `$in` on MongoDB; point lookups or one streamed scan on FerretDB, whichever costs less), counting a collection
// without reading it, bulk writes in the chunks each server answers, and the default size of a full-sync
// partition. lifecycle.ts creates the adapter after connecting and installs it for the process.
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Db, type Document } from 'mongodb';
import type { Database, ServerKind } from './connection.js';
import { isDuplicateKeyError } from './duplicate-key.js';
import { isDatabaseUnavailable } from '../db-unavailable.js';
import { EMBEDDED_MAX_UPDATES_PER_COMMAND } from './embedded-db.js';
import { inUpdateSlot } from './update-budget.js';
import { eachLimited } from '../each-limited.js';

export interface ReadOptions<T> {
  projection?: Document;
  /**
   * Called with every document of the collection when the read chose one streamed scan of it (the caller may
   * gather something else on the way, e.g. every user's email); never called for indexed reads.
   */
  onScan?: (doc: T) => void;
  /**
   * The caller weighed the keys against the collection's size itself (it holds a copy of the collection): read them
   * by lookups without asking the server for the size (collStats took 1.7-3 s on a loaded server).
   */
  lookUp?: boolean;
}

export interface DbAdapter {
  readonly kind: ServerKind;
  /** Full-sync partitions when the caller names no number: users per partition. */
  readonly usersPerPartition: number;
  /** The stored documents among `ids`, by `_id`. */
  readByIds<T extends { _id: string }>(coll: Collection<T>, ids: readonly string[], opts?: ReadOptions<T>): Promise<Map<string, T>>;
  /**
   * Whether reading this many documents of `coll` by `_id` is one scan of the collection (FerretDB, where `keys`
   * lookups would cost more than reading them all); always false on MongoDB.
   */
  readsByScan<T extends Document>(coll: Collection<T>, keys: number): Promise<boolean>;
  /** The documents whose top-level `field` equals one of `values`. */
  readWhereIn<T extends Document>(coll: Collection<T>, field: string, values: readonly unknown[], opts?: ReadOptions<T>): Promise<T[]>;
  /** About how many documents a collection holds (0 when it does not exist), without reading them. */
  estimateCount<T extends Document>(coll: Collection<T>): Promise<number>;
  /** Inserts every document, unordered and in chunks; returns the indexes that were duplicates of stored `_id`s. */
  insertIgnoringDuplicates<T extends { _id: string }>(coll: Collection<T>, docs: readonly T[]): Promise<Set<number>>;
  /** Deletes by `_id`, in chunks; returns how many were deleted. */
  deleteByIds<T extends Document>(coll: Collection<T>, ids: readonly string[]): Promise<number>;
  /**
   * Unordered updateOne-by-_id writes, in commands the server answers. Every command is sent and settles before
   * the first failure is thrown, so a caller that falls back to single updates races none of them.
   */
  bulkUpdateById<T extends Document>(coll: Collection<T>, updates: ReadonlyArray<ByIdUpdate>): Promise<void>;
  /**
   * Runs a sorted page read of one group's documents (members, history, exclusions). MongoDB serves it from an index
   * range; FerretDB reads and sorts every document of the group, so on FerretDB at most a few run at once and the
   * rest wait their turn in this process: a hundred integrations paging a 25,000-member group otherwise hold every
   * driver connection, and each write's dozen small round trips queue behind them (measured: no enrolment PUT
   * answered within 60 s under the load bench).
   */
  groupPageRead<R>(read: () => Promise<R>): Promise<R>;
  /**
   * Whether a large group's members are better paged by bucket (membership.model.ts, PAGE_BUCKETS): on FerretDB,
   * where a sorted page of a group reads the whole group; not on MongoDB, where it is an index range.
   */
  readonly pagesByBucket: boolean;
}

/**
 * An update of one document by `_id`; `where` adds conditions (a version read): atomic with the write on MongoDB,
 * checked separately on FerretDB (../shared/FERRETDB.md), where the caller's lease is what excludes other writers.
 */
interface ByIdUpdate {
  _id: unknown;
  update: Document;
  where?: Document;
}

const CHUNK = 1000;
const POINT_READS_IN_FLIGHT = 16;
/** Below this many keys, point lookups are always cheaper than a scan: no need to ask the collection's size. */
const ALWAYS_LOOK_UP = 64;
/**
 * Costs measured on FerretDB v1.24: a point read ~0.5 ms at 16 in flight; a scan ~0.1-0.2 ms per document
 * whatever the filter (only a top-level equality is pushed down; `$in` is a scan that also compares each document
 * with the list: 10,000 ids in 50,000 users took 26 s, against 9 s for reading them all and 5 s for 10,000 point
 * reads). So a lookup is worth about three scanned documents.
 */
const LOOKUP_COST_IN_SCANNED_DOCS = 3;
/** FerretDB reads a whole collection for any filter but a top-level equality: one partition per 100,000 users. */
const USERS_PER_PARTITION_EMBEDDED = 100_000;
/** MongoDB reads a partition's range from indexes, so more partitions share the work at no extra cost. */
const USERS_PER_PARTITION = 20_000;
/** Sorted group page reads at once on FerretDB (see groupPageRead): a fifth of the driver pool. */
const GROUP_PAGE_READS_IN_FLIGHT = 4;
/** How long a collection's size, read for choosing between lookups and a scan, is used again. */
const SIZE_KEPT_MS = 10_000;

async function estimateCount<T extends Document>(coll: Collection<T>, db: Db | undefined): Promise<number> {
  if (!db) return coll.estimatedDocumentCount();
  // FerretDB answers `count` by reading every document (seconds at tens of thousands), `collStats` from
  // PostgreSQL's statistics (an ANALYZE estimate).
  try {
    const stats = await db.command({ collStats: coll.collectionName });
    return Number(stats.count ?? 0);
  } catch (err) {
    if ((err as { codeName?: string }).codeName === 'NamespaceNotFound') return 0;
    throw err;
  }
}

export function createDbAdapter(database: Pick<Database, 'kind' | 'db'>): DbAdapter {
  const embedded = database.kind === 'ferretdb';
  /** The handle collStats goes to: on FerretDB only (MongoDB counts from metadata). */
  const statsDb = embedded ? database.db : undefined;

  // The sizes that choice is made on, kept a little while: collStats took up to a second on a loaded server, paid
  // by every batch, and a size that is seconds old chooses as well as a fresh one.
  const sizes = new Map<string, { n: number; at: number }>();
  async function sizeForChoice<T extends Document>(coll: Collection<T>): Promise<number> {
    const known = sizes.get(coll.collectionName);
    if (known && Date.now() - known.at < SIZE_KEPT_MS) return known.n;
    const n = await estimateCount(coll, statsDb);
    sizes.set(coll.collectionName, { n, at: Date.now() });
    return n;
  }

  /** On FerretDB: are `keys` lookups cheaper than one scan of `coll`? */
  async function lookUp<T extends Document>(coll: Collection<T>, keys: number): Promise<boolean> {
    if (keys <= ALWAYS_LOOK_UP) return true;
    return keys * LOOKUP_COST_IN_SCANNED_DOCS < (await sizeForChoice(coll));
  }

  async function readWhereIn<T extends Document>(coll: Collection<T>, field: string, values: readonly unknown[], opts: ReadOptions<T> = {}): Promise<T[]> {
    const out: T[] = [];
    if (values.length === 0) return out;
    const find = (filter: Document) => coll.find(filter as never, opts.projection ? { projection: opts.projection } : {});
    if (!embedded) {
      for (let start = 0; start < values.length; start += CHUNK) {
        for await (const doc of find({ [field]: { $in: values.slice(start, start + CHUNK) } })) out.push(doc as T);
      }
      return out;
    }
    if (opts.lookUp || (await lookUp(coll, values.length))) {
      // One equality each: the filter FerretDB pushes down to an index.
      await eachLimited(values, POINT_READS_IN_FLIGHT, async (value) => {
        for await (const doc of find({ [field]: value })) out.push(doc as T);
      });
      return out;
    }
    const wanted = new Set(values);
    for await (const doc of coll.find({}, { ...(opts.projection ? { projection: opts.projection } : {}), batchSize: 2000 })) {
      opts.onScan?.(doc as T);
      if (wanted.has((doc as Document)[field])) out.push(doc as T);
    }
    return out;
  }

  return {
    kind: database.kind,
    usersPerPartition: embedded ? USERS_PER_PARTITION_EMBEDDED : USERS_PER_PARTITION,

    async readByIds<T extends { _id: string }>(coll: Collection<T>, ids: readonly string[], opts: ReadOptions<T> = {}) {
      const found = new Map<string, T>();
      for (const doc of await readWhereIn(coll, '_id', ids, opts)) found.set(doc._id, doc);
      return found;
    },

    readWhereIn,

    readsByScan: async (coll, keys) => embedded && !(await lookUp(coll, keys)),

    estimateCount: (coll) => estimateCount(coll, statsDb),

    async insertIgnoringDuplicates(coll, docs) {
      const duplicates = new Set<number>();
      for (let start = 0; start < docs.length; start += CHUNK) {
        const chunk = docs.slice(start, start + CHUNK);
        try {
          await coll.insertMany(chunk as never[], { ordered: false });
        } catch (err) {
          // A chunk cut off by a broken connection is a MongoBulkWriteError too, with no write errors (the network
          // error is its errorResponse): an unknown part of it is stored, and it must fail, never read as "no
          // duplicates" (which reported users created that were not, and went on to the next chunk).
          if (!(err instanceof MongoBulkWriteError) || isDatabaseUnavailable(err)) throw err;
          const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
          if (writeErrors.length === 0) throw err;
          for (const we of writeErrors) {
            if (!isDuplicateKeyError({ code: we.code, message: we.errmsg })) throw err;
            duplicates.add(start + we.index);
          }
        }
      }
      return duplicates;
    },

    async deleteByIds<T extends Document>(coll: Collection<T>, ids: readonly string[]) {
      let deleted = 0;
      for (let start = 0; start < ids.length; start += CHUNK) {
        const ops = ids.slice(start, start + CHUNK).map((_id) => ({ deleteOne: { filter: { _id } } }));
        deleted += (await coll.bulkWrite(ops as unknown as AnyBulkWriteOperation<T>[], { ordered: false })).deletedCount;
      }
      return deleted;
    },

    groupPageRead: embedded ? limitedTo(GROUP_PAGE_READS_IN_FLIGHT) : (read) => read(),
    pagesByBucket: embedded,

    async bulkUpdateById<T extends Document>(coll: Collection<T>, updates: ReadonlyArray<ByIdUpdate>) {
      const sent: Array<Promise<unknown>> = [];
      for (let i = 0; i < updates.length; i += EMBEDDED_MAX_UPDATES_PER_COMMAND) {
        const ops = updates.slice(i, i + EMBEDDED_MAX_UPDATES_PER_COMMAND).map((u) => ({ updateOne: { filter: { ...u.where, _id: u._id }, update: u.update } }));
        sent.push(inUpdateSlot(() => coll.bulkWrite(ops as unknown as AnyBulkWriteOperation<T>[], { ordered: false })));
      }
      const failed = (await Promise.allSettled(sent)).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/** A queue in front of `work`: at most `limit` run at once, the others start in arrival order as those end. */
function limitedTo(limit: number): <R>(work: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <R>(work: () => Promise<R>): Promise<R> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next(); // the slot passes on as it is
      else running--;
    }
  };
}

let installed: DbAdapter | undefined;

/** Installs the process's adapter (lifecycle, after connecting); `undefined` on stop. */
export function useDbAdapter(adapter: DbAdapter | undefined): void {
  installed = adapter;
}

/** The adapter of the running service. */
export function db(): DbAdapter {
  if (!installed) throw new Error('database not connected');
  return installed;
}
