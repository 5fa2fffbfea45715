// The one database connection (mongoose's default connection; its driver Db is shared with Agenda).
import mongoose from 'mongoose';
import type { Db } from 'mongodb';

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

export async function connectDatabase(uri: string, dbName: string): Promise<Database> {
  await mongoose.connect(uri, { dbName, serverSelectionTimeoutMS: 10_000, autoIndex: false });
  const db = mongoose.connection.db;
  if (!db) throw new Error('database handle missing after connect');
  const info = await db.admin().command({ buildInfo: 1 });
  const kind: ServerKind = typeof info.ferretdbVersion === 'string' ? 'ferretdb' : 'mongodb';
  // Indexes are declared in the schemas; build them once here rather than lazily per model.
  await Promise.all(Object.values(mongoose.connection.models).map((m) => m.createIndexes()));
  return {
    db,
    kind,
    version: String(info.ferretdbVersion ?? info.version),
    async ping() {
      await db.command({ ping: 1 });
    },
    async close() {
      await mongoose.disconnect();
    },
  };
}

/** Models may be imported after connect (e.g. by a route module loaded late); index them on demand too. */
export async function ensureIndexes(): Promise<void> {
  await Promise.all(Object.values(mongoose.connection.models).map((m) => m.createIndexes()));
}
