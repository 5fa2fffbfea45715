// The one database connection (mongoose's default connection; its driver Db is shared with Agenda), and which
// server answers it: the adapter (adapter.ts) is made from what connectDatabase learns here.
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
 * Indexes declared outside the schemas; connectDatabase builds them. On FerretDB (PostgreSQL backend) an index
 * serves its fields' top-level equality filters through the GIN indexes tools/devdb derives from it (README:
 * "FerretDB over an existing PostgreSQL"). Wildcard indexes are built on MongoDB only: FerretDB accepts them,
 * then fails every later write.
 */
const declaredIndexes: Array<{ model: mongoose.Model<never>; keys: IndexSpecification }> = [];

export function declareIndex(model: mongoose.Model<never>, keys: IndexSpecification): void {
  declaredIndexes.push({ model, keys });
}

const isWildcard = (keys: IndexSpecification): boolean => Object.keys(keys as object).some((k) => k.endsWith('$**'));

async function serverKind(db: Db): Promise<{ kind: ServerKind; version: string }> {
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string'
    ? { kind: 'ferretdb', version: String(info.ferretdbVersion) }
    : { kind: 'mongodb', version: String(info.version) };
}

export async function connectDatabase(uri: string, dbName: string): Promise<Database> {
  await mongoose.connect(uri, { dbName, serverSelectionTimeoutMS: 10_000, autoIndex: false });
  const db = mongoose.connection.db;
  if (!db) throw new Error('database handle missing after connect');
  const { kind, version } = await serverKind(db);
  // Indexes are declared next to the models; build them once here rather than lazily per model.
  await Promise.all(Object.values(mongoose.connection.models).map((m) => m.createIndexes()));
  for (const { model, keys } of declaredIndexes) {
    if (kind === 'mongodb' || !isWildcard(keys)) await model.collection.createIndex(keys);
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
