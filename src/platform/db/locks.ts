// Serializes read-modify-write of one document, across every process on the database. FerretDB runs every update
// as read, change in Go, rewrite by _id, with no transaction: two overlapping writes to one document would lose one
// of them, and a condition in the update does not stop the second. Every write that reads a document and then
// writes it takes that document's lock first (the keys are the domain's: src/directory/lock-keys.ts, a group's in
// groups/, its state in group-state.ts).
//
// Two layers. In front, a queue per key in this process: flows of one process wait for each other here, without
// asking the database. Behind it, a lease per key in the database (leases.ts), taken by insert, which is what
// excludes other processes; the service installs it at start (useLeaseStore). Without one installed (unit tests
// with no database) only the in-process queue guards.
//
// Many keys are taken at once: the in-process queues are joined in one synchronous step, and the leases are
// inserted in key order, so callers never each hold a key the other waits for.
//
// Locks are re-entrant along one asynchronous flow: a directory write's membership reaction runs under the users'
// locks it took, and a join that enrols those very users in a group's courses writes them again in that flow.
// Waiting there for itself would never end, so a key the flow already holds is not taken again.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { HeldLeases, LeaseStore } from './leases.js';

let leaseStore: LeaseStore | undefined;

/** Installs the process's lease store (lifecycle, after connecting); `undefined` on stop. */
export function useLeaseStore(store: LeaseStore | undefined): void {
  leaseStore = store;
}

const tails = new Map<string, Promise<void>>();

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

export interface LockOptions {
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
  let leased: HeldLeases | undefined;
  try {
    if (waits.length) await Promise.all(waits);
    if (store) leased = await store.acquire(keys, opts.waitMs);
    return await flow.run(frame, work);
  } finally {
    frame.held = false;
    // The database's lease goes before this process's queue moves on: the next flow here asks for it again.
    if (leased) await store!.release(leased);
    release();
    for (const [key, tail] of mine) if (tails.get(key) === tail) tails.delete(key);
  }
}

/** How many documents are locked now (tests check that nothing stays locked). */
export function heldLockCount(): number {
  return tails.size;
}
