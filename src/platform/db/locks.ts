// Serializes read-modify-write of one document, across every process on the database. FerretDB runs every update
// as read, change in Go, rewrite by _id, with no transaction: two overlapping writes to one document would lose one
// of them, and a condition in the update does not stop the second. Every write that reads a document and then
// writes it takes that document's lock first (the keys are the domain's: src/directory/lock-keys.ts, a group's in
// groups/, its state in group-state.ts).
//
// Two layers. In front, a queue per key in this process: flows of one process wait for each other here, without
// asking the database. Behind it, leases in the database (leases.ts), taken by insert, which is what excludes other
// processes; the service installs the store at start (useLeaseStore). Without one installed (unit tests with no
// database) only the in-process queue guards.
//
// One lease per key, users included: a batch of 10,000 users inserts 10,000 lease documents and deletes them with
// one command (each about 0.3 s measured alone on the embedded database; the directory bench's 10,000-user batch
// went from 1.7 s to 1.9 s). Leasing users by bucket instead
// (256 of them) made that 0.1 s, but every batch then held every bucket, and batches sent through four API
// processes at once waited for each other until their waits ran out (bench/many-processes.bench.ts). A lease is the
// process's, shared by its flows (a flow whose key another flow of the process holds asks the database nothing),
// and lingers a moment after the last one lets go, for the next write to the same group count or user.
//
// Many keys are taken at once: the in-process queues are joined in one synchronous step, and a caller waiting for a
// lease holds none that sorts after it (leases.ts), so callers never each hold a key the other waits for.
//
// Locks are re-entrant along one asynchronous flow: a directory write's membership reaction runs under the users'
// locks it took, and a join that enrols those very users in a group's courses writes them again in that flow.
// Waiting there for itself would never end, so a key the flow already holds is not taken again.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LeaseStore } from './leases.js';

let leaseStore: LeaseStore | undefined;

/** Installs the process's lease store (lifecycle, after connecting); `undefined` on stop. */
export function useLeaseStore(store: LeaseStore | undefined): void {
  leaseStore = store;
}

const tails = new Map<string, Promise<void>>();

/**
 * How long a lease no flow holds stays with the process before it goes back: a write that follows within that time
 * (the next change to a popular group's count, or to the same user) finds it here and asks the database
 * nothing. Another process waits that much longer for it at most.
 */
const LINGER_MS = 100;

/** This process's leases, shared by its flows: how many flows hold each, and the acquisition that took it. */
interface SharedLease {
  count: number;
  /** Settles when the acquisition that takes it has (rejects if it failed). */
  ready: Promise<void>;
  acq?: string;
  /** Set while no flow holds it: the batch of leases it goes back with when the batch's moment is up. */
  lingering?: LingeringBatch;
}
interface LingeringBatch {
  keys: string[];
  timer?: NodeJS.Timeout;
}
const shared = new Map<string, SharedLease>();
/** How many of `shared` each acquisition still has: when none, its leases go back by one delete of its id. */
const liveByAcq = new Map<string, number>();
/** Leases on their way back to the database: taking one again waits for that first (else its delete could land after). */
const returning = new Map<string, Promise<void>>();

/** Takes the leases of `keys` for one flow: counts it in where the process holds them, asks the store for the rest. */
async function takeLeases(store: LeaseStore, keys: readonly string[], waitMs: number | undefined): Promise<string[]> {
  const wanted = [...new Set(keys)];
  const inFlight = wanted.map((k) => returning.get(k)).filter((p) => p !== undefined);
  if (inFlight.length) await Promise.all(inFlight);
  const missing = wanted.filter((k) => !shared.has(k));
  const joined = wanted.filter((k) => shared.has(k));
  for (const k of joined) {
    const lease = shared.get(k)!;
    lease.lingering = undefined;
    lease.count++;
  }
  let settle!: (err?: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  ready.catch(() => undefined); // a failure is the acquiring flow's to report; joiners see it through their own await
  const mine: SharedLease[] = missing.map(() => ({ count: 1, ready }));
  missing.forEach((k, i) => shared.set(k, mine[i]!));
  try {
    const acq = missing.length ? await store.acquire(missing, waitMs) : undefined;
    if (acq) {
      for (const lease of mine) lease.acq = acq;
      liveByAcq.set(acq, mine.length);
    }
    settle();
    await Promise.all(joined.map((k) => shared.get(k)?.ready));
  } catch (err) {
    settle(err);
    await giveBack(store, wanted);
    throw err;
  }
  return wanted;
}

/**
 * One flow is done with these leases: those no other flow of the process holds go back to the database together
 * after LINGER_MS (at once when their acquisition failed: it gave back what it took).
 */
async function giveBack(store: LeaseStore, leaseKeys: readonly string[]): Promise<void> {
  const batch: LingeringBatch = { keys: [] };
  for (const k of leaseKeys) {
    const lease = shared.get(k);
    if (!lease || --lease.count > 0) continue;
    if (!lease.acq) {
      shared.delete(k);
      continue;
    }
    lease.lingering = batch;
    batch.keys.push(k);
  }
  if (batch.keys.length) batch.timer = setTimeout(() => void returnLeases(store, [batch]), LINGER_MS);
}

/** Gives back the leases of these batches that no flow took up again meanwhile: by acquisition, one delete each. */
async function returnLeases(store: LeaseStore, batches: readonly LingeringBatch[]): Promise<void> {
  const byAcq = new Map<string, string[]>();
  for (const batch of batches) {
    if (batch.timer) clearTimeout(batch.timer);
    for (const k of batch.keys) {
      const lease = shared.get(k);
      if (!lease || lease.count > 0 || lease.lingering !== batch) continue;
      shared.delete(k);
      let list = byAcq.get(lease.acq!);
      if (!list) byAcq.set(lease.acq!, (list = []));
      list.push(k);
    }
  }
  await Promise.all(
    [...byAcq].map(async ([acq, keys]) => {
      const left = (liveByAcq.get(acq) ?? 0) - keys.length;
      if (left > 0) liveByAcq.set(acq, left);
      else liveByAcq.delete(acq);
      const done = store.release(acq, left > 0 ? keys : 'all');
      for (const k of keys) returning.set(k, done);
      try {
        await done;
      } finally {
        for (const k of keys) if (returning.get(k) === done) returning.delete(k);
      }
    }),
  );
}

/** Gives back at once every lease no flow holds (a stopping service: nothing may stay lingering). */
export async function returnIdleLeases(): Promise<void> {
  const store = leaseStore;
  if (!store) return;
  const batches = new Set<LingeringBatch>();
  for (const lease of shared.values()) if (lease.count === 0 && lease.lingering) batches.add(lease.lingering);
  await returnLeases(store, [...batches]);
}

/** The keys one withLocks call took; `held` turns false when it releases them (a flow started inside may outlive it). */
interface Frame {
  keys: ReadonlySet<string>;
  held: boolean;
  outer: Frame | undefined;
}
const flow = new AsyncLocalStorage<Frame>();

function heldByThisFlow(key: string): boolean {
  for (let f = flow.getStore(); f; f = f.outer) if (f.held && f.keys.has(key)) return true;
  return false;
}

interface LockOptions {
  /** Longest wait for keys another process holds (default: the store's LEASE_WAIT_MS); long work such as a sync waits longer. */
  waitMs?: number;
}

export async function withLocks<T>(lockKeys: Iterable<string>, work: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const keys = [...new Set(lockKeys)].filter((k) => !heldByThisFlow(k));
  if (keys.length === 0) return work();
  const waits: Promise<void>[] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const mine: Array<[string, Promise<void>]> = [];
  for (const key of keys) {
    const previous = tails.get(key);
    if (previous) waits.push(previous);
    const tail = previous ? previous.then(() => held) : held;
    tails.set(key, tail);
    mine.push([key, tail]);
  }
  const frame: Frame = { keys: new Set(keys), held: true, outer: flow.getStore() };
  const store = leaseStore;
  let leased: string[] | undefined;
  try {
    if (waits.length) await Promise.all(waits);
    if (store) leased = await takeLeases(store, keys, opts.waitMs);
    return await flow.run(frame, work);
  } finally {
    frame.held = false;
    // The database's lease goes before this process's queue moves on: the next flow here asks for it again.
    if (leased) await giveBack(store!, leased);
    release();
    for (const [key, tail] of mine) if (tails.get(key) === tail) tails.delete(key);
  }
}

/** How many documents are locked now (tests check that nothing stays locked). */
export function heldLockCount(): number {
  return tails.size;
}
