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

/**
 * How long an operation waits for a reachable server before it fails (and its request answers 503). Short on
 * purpose: while the database is away (the embedded one restarting, a MongoDB failover), requests fail fast and
 * say so instead of queueing until clients time out; the driver picks the server up again as soon as it answers.
 */
const SERVER_SELECTION_TIMEOUT_MS = 1500;
/**
 * A socket that stays silent this long under an operation is broken (a peer gone without a reset): the operation
 * fails instead of waiting forever. Far above any single command's legitimate time (a 10,000-user read streams in
 * batches).
 */
const SOCKET_TIMEOUT_MS = 120_000;
/** The first connection may wait longer: a database started next to the service may need a few seconds. */
const FIRST_CONNECT_TIMEOUT_MS = 10_000;

async function connectWithRetry(uri: string, dbName: string): Promise<void> {
  const deadline = Date.now() + FIRST_CONNECT_TIMEOUT_MS;
  for (;;) {
    try {
      await mongoose.connect(uri, { dbName, serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS, socketTimeoutMS: SOCKET_TIMEOUT_MS, autoIndex: false });
      return;
    } catch (err) {
      if (Date.now() >= deadline || (err as Error).name !== 'MongooseServerSelectionError') throw err;
      await mongoose.disconnect().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function connectDatabase(uri: string, dbName: string): Promise<Database> {
  await connectWithRetry(uri, dbName);
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
