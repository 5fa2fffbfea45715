// Serializes read-modify-write of one document within this process. FerretDB runs every update as read, change
// in Go, rewrite by _id, with no transaction: two overlapping writes to one document would lose one of them. Every
// write that reads a document and then writes it takes that document's lock first (the keys are the domain's:
// src/directory/lock-keys.ts, a group's state in group-state.ts).
//
// Many keys are taken at once and atomically (all queues are joined in one synchronous step), so two callers can
// never each hold a key the other waits for: no deadlock, whatever the order of the keys.
const tails = new Map<string, Promise<void>>();

export async function withLocks<T>(lockKeys: Iterable<string>, work: () => Promise<T>): Promise<T> {
  const keys = [...new Set(lockKeys)];
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
  try {
    if (waits.length) await Promise.all(waits);
    return await work();
  } finally {
    release();
    for (const [key, tail] of mine) if (tails.get(key) === tail) tails.delete(key);
  }
}

/** How many documents are locked now (tests check that nothing stays locked). */
export function heldLockCount(): number {
  return tails.size;
}
