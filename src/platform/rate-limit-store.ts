// Rate-limit counters shared by every API process on the database: express-rate-limit's Store, counted in fixed
// windows. An atomic increment is not to be had on FerretDB (a `$inc` from 20 clients ends at 1–7), so no process
// writes another's count: each process keeps its own hits per key and window in a document of its own
// (`<key>:<window>:<process>`) and adds the other processes' documents to them. Those are read again at most once a
// second per key, and this process's own are written once a second, so a key's total across processes is exact
// up to the last second's hits of the others: with N processes a key may overshoot by what it sends in one second,
// no longer by N times the budget.
import { randomUUID } from 'node:crypto';
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import type { IncrementResponse, Options, Store } from 'express-rate-limit';

interface CounterDoc {
  _id: string;
  key: string;
  window: number;
  process: string;
  hits: number;
  at: Date;
}

const counterSchema = new Schema(
  { _id: String, key: String, window: Number, process: String, hits: Number, at: Date },
  { versionKey: false, collection: 'rate_limits' },
);
// Each key's documents are read by an equality on the key (pushed down to an index on every backend).
counterSchema.index({ key: 1 });
const CounterModel = mongoose.models.RateLimitCounter ?? mongoose.model('RateLimitCounter', counterSchema);
const counters = () => CounterModel.collection as unknown as Collection<CounterDoc>;

/** How stale another process's hits may be, and how often this process's are written. */
const SHARE_MS = 1_000;
/** Counters of ended windows are removed this often, by any process (the same documents whoever does it). */
const PRUNE_EVERY_MS = 10 * 60_000;

interface Local {
  window: number;
  /** Every process's hits in the window before (it weighs in as the window slides past it). */
  previous: number;
  /** This process's hits in the window. */
  mine: number;
  /** The other processes' hits in the window, as last read. */
  others: number;
  othersReadAt: number;
  dirty: boolean;
}

export class DatabaseRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private windowMs = 60_000;
  private readonly process = randomUUID();
  private readonly local = new Map<string, Local>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private prunedAt = 0;
  /** Counts of windows that ended before they were written. */
  private readonly ended: Array<{ key: string; window: number; mine: number }> = [];

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
    this.timer = setInterval(() => {
      this.flushing = this.flush().catch(() => undefined);
    }, SHARE_MS);
    this.timer.unref();
  }

  private windowOf(now: number): number {
    return Math.floor(now / this.windowMs) * this.windowMs;
  }

  private entry(key: string, now: number): Local {
    const window = this.windowOf(now);
    let e = this.local.get(key);
    if (!e || e.window !== window) {
      const previous = e && e.window === window - this.windowMs ? e.mine + e.others : 0;
      if (e?.dirty) this.ended.push({ key, window: e.window, mine: e.mine });
      e = { window, previous, mine: 0, others: 0, othersReadAt: 0, dirty: false };
      this.local.set(key, e);
    }
    return e;
  }

  private async readOthers(key: string, e: Local): Promise<void> {
    const docs = await counters().find({ key: this.prefix + key }).toArray();
    e.others = docs.filter((d) => d.window === e.window && d.process !== this.process).reduce((sum, d) => sum + d.hits, 0);
    const before = docs.filter((d) => d.window === e.window - this.windowMs).reduce((sum, d) => sum + d.hits, 0);
    e.previous = Math.max(e.previous, before);
    e.othersReadAt = Date.now();
  }

  private write(key: string, window: number, hits: number): Promise<unknown> {
    const doc: CounterDoc = { _id: `${this.prefix}${key}:${window}:${this.process}`, key: this.prefix + key, window, process: this.process, hits, at: new Date() };
    // Only this process writes this document: a plain replace, no race to lose.
    return counters().replaceOne({ _id: doc._id }, doc, { upsert: true });
  }

  /** Writes this process's dirty counts, and forgets windows that have ended. */
  async flush(): Promise<void> {
    const now = Date.now();
    const current = this.windowOf(now);
    const writes: Array<Promise<unknown>> = [];
    for (const { key, window, mine } of this.ended.splice(0)) writes.push(this.write(key, window, mine));
    for (const [key, e] of this.local) {
      if (e.dirty) {
        e.dirty = false;
        writes.push(this.write(key, e.window, e.mine));
      }
      if (e.window < current && !e.dirty) this.local.delete(key);
    }
    if (now - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now;
      writes.push(counters().deleteMany({ at: { $lt: new Date(now - 2 * this.windowMs - SHARE_MS) } }));
    }
    await Promise.all(writes);
  }

  async increment(key: string): Promise<IncrementResponse> {
    const now = Date.now();
    const e = this.entry(key, now);
    e.mine++;
    e.dirty = true;
    // The database away: the others' last known hits stand (the limit is not a reason to fail a request).
    if (now - e.othersReadAt >= SHARE_MS) await this.readOthers(key, e).catch(() => (e.othersReadAt = now));
    // A sliding window: the window before counts for the share of it still inside the last windowMs, so a key's
    // budget does not refill at once when a window starts.
    const overlap = 1 - (now - e.window) / this.windowMs;
    return { totalHits: e.mine + e.others + Math.ceil(e.previous * overlap), resetTime: new Date(e.window + this.windowMs) };
  }

  async decrement(key: string): Promise<void> {
    const e = this.local.get(key);
    if (e && e.mine > 0) {
      e.mine--;
      e.dirty = true;
    }
  }

  async resetKey(key: string): Promise<void> {
    this.local.delete(key);
    await counters().deleteMany({ key: this.prefix + key });
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    await this.flush().catch(() => undefined);
  }
}
