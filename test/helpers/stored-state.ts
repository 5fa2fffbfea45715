// Count and content hash of stored collections: equal states mean a request wrote nothing.
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';

export type StoredState = Record<string, { count: number; hash: string }>;

/** Every collection but those named in `except` (e.g. Agenda's, whose recurring jobs run on their own clock). */
export async function storedState(db: Db, except: readonly string[] = ['agendaJobs']): Promise<StoredState> {
  const out: StoredState = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !except.includes(n)).sort();
  for (const name of names) {
    const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
    out[name] = { count: docs.length, hash: createHash('sha256').update(JSON.stringify(docs)).digest('hex') };
  }
  return out;
}
