// Count and content hash of stored collections: equal states mean a request wrote nothing.
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';

export type StoredState = Record<string, { count: number; hash: string }>;

/**
 * The service's own bookkeeping, which changes whatever a request does: the leases work holds while it runs (a sync
 * in the background holds its group's), each process's heartbeat and its share of the rate-limit counters.
 */
const BOOKKEEPING = ['leases', 'lease_claims', 'lease_holders', 'rate_limits'];

/**
 * Every collection but the service's bookkeeping and those named in `except` (e.g. Agenda's, whose recurring jobs
 * run on their own clock).
 */
export async function storedState(db: Db, except: readonly string[] = ['agendaJobs']): Promise<StoredState> {
  const out: StoredState = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((n) => !except.includes(n) && !BOOKKEEPING.includes(n))
    .sort();
  // Read side by side: the collections were never read at one instant anyway, and one after another the reads of a
  // test that compares states around every request (write-properties) were most of its time.
  const states = await Promise.all(
    names.map(async (name) => {
      const docs = await db.collection(name).find({}).sort({ _id: 1 }).toArray();
      return { count: docs.length, hash: createHash('sha256').update(JSON.stringify(docs)).digest('hex') };
    }),
  );
  names.forEach((name, i) => (out[name] = states[i]!));
  return out;
}
