// Serializes read-modify-write of one document within this process. FerretDB runs every update as read, change
// in Go, rewrite by _id, with no transaction: two overlapping writes to one document would lose one of them. Every
// write that reads a document and then writes it takes that document's lock first (the keys are the domain's:
// src/directory/lock-keys.ts, a group's state in group-state.ts).
//
// Many keys are taken at once and atomically (all queues are joined in one synchronous step), so two callers can
// never each hold a key the other waits for: no deadlock, whatever the order of the keys.
//
// Locks are re-entrant along one asynchronous flow: a directory write's membership reaction runs under the users'
// locks it took, and a join that enrols those very users in a group's courses writes them again in that flow.
// Waiting there for itself would never end, so a key the flow already holds is not taken again.
import { AsyncLocalStorage } from 'node:async_hooks';

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

export async function withLocks<T>(lockKeys: Iterable<string>, work: () => Promise<T>): Promise<T> {
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
  try {
    if (waits.length) await Promise.all(waits);
    return await flow.run(frame, work);
  } finally {
    frame.held = false;
    release();
    for (const [key, tail] of mine) if (tails.get(key) === tail) tails.delete(key);
  }
}

/** How many documents are locked now (tests check that nothing stays locked). */
export function heldLockCount(): number {
  return tails.size;
}
