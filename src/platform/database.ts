// The one database connection (mongoose's default connection; its driver Db is shared with Agenda).
import mongoose from 'mongoose';
import type { Db, IndexSpecification } from 'mongodb';

export type ServerKind = 'mongodb' | 'ferretdb';

export interface Database {
  readonly db: Db;
  readonly kind: ServerKind;
  readonly version: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// No command buffering: an operation on a closed connection must fail, not wait forever.
mongoose.set('bufferCommands', false);
mongoose.set('strictQuery', true);
mongoose.set('autoIndex', false);

/**
 * Indexes built on MongoDB only. FerretDB v1 answers every filter but `{_id: v}` by reading the whole collection,
 * so a secondary index there only slows inserts; and it accepts wildcard indexes, then fails every later write.
 * Modules declare such indexes when they load; connectDatabase builds them.
 */
const mongoOnlyIndexes: Array<{ model: mongoose.Model<never>; keys: IndexSpecification }> = [];

export function declareMongoOnlyIndex(model: mongoose.Model<never>, keys: IndexSpecification): void {
  mongoOnlyIndexes.push({ model, keys });
}

async function serverKind(db: Db): Promise<{ kind: ServerKind; version: string }> {
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string'
    ? { kind: 'ferretdb', version: String(info.ferretdbVersion) }
    : { kind: 'mongodb', version: String(info.version) };
}

let known: { db: Db; embedded: Promise<boolean> } | undefined;

/**
 * True on the embedded FerretDB. The few places where the best query differs between the two servers (see
 * FERRETDB.md) ask here. Known from connectDatabase; asked of the server only for a connection made otherwise.
 */
export function isEmbeddedDatabase(): Promise<boolean> {
  const db = mongoose.connection.db;
  if (!db) return Promise.reject(new Error('database not connected'));
  if (known?.db !== db) {
    const embedded = serverKind(db).then((s) => s.kind === 'ferretdb');
    embedded.catch(() => {
      if (known?.embedded === embedded) known = undefined;
    });
    known = { db, embedded };
  }
  return known.embedded;
}

export async function connectDatabase(uri: string, dbName: string): Promise<Database> {
  await mongoose.connect(uri, { dbName, serverSelectionTimeoutMS: 10_000, autoIndex: false });
  const db = mongoose.connection.db;
  if (!db) throw new Error('database handle missing after connect');
  const { kind, version } = await serverKind(db);
  known = { db, embedded: Promise.resolve(kind === 'ferretdb') };
  // Indexes are declared next to the models; build them once here rather than lazily per model.
  await Promise.all(Object.values(mongoose.connection.models).map((m) => m.createIndexes()));
  if (kind === 'mongodb') {
    for (const { model, keys } of mongoOnlyIndexes) await model.collection.createIndex(keys);
  }
  return {
    db,
    kind,
    version,
    async ping() {
      await db.command({ ping: 1 });
    },
    async close() {
      await mongoose.disconnect();
    },
  };
}
