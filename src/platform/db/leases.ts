// Exclusion across processes. A lease on a key is a document whose `_id` is the key, taken by inserting it: the one
// write that has exactly one winner on MongoDB and on FerretDB alike (on FerretDB a condition in an update or a
// delete is checked in Go between a read and a rewrite, so compare-and-set there can have several winners). The
// holder deletes it when done. withLocks (locks.ts) takes these leases behind its in-process queue, so a process
// asks the database once per key however many of its own flows wait for it.
//
// Who holds a lease: a lease names its holder, a process. Each process keeps a holder document alive (a heartbeat
// every third of LEASE_TTL); a lease whose holder document has expired or is gone belongs to a dead process. Taking
// it over is itself an insert: a claim names that one lease instance, so of several processes that find the same
// dead lease exactly one deletes it (no one else deletes that instance: its holder is dead), and then everyone
// competes by insert again. A live process's leases never expire, whatever the work under them lasts.
//
// Many keys are taken in one unordered insert and released by one delete of the acquisition's id (a batch of 10,000
// users is a few round trips each way). A caller that must wait for a key another live process holds first gives
// back every key it took that sorts after it: while waiting it holds only keys before the one it waits for, so
// callers that wait for each other always wait in key order and none waits for one that waits for it (no deadlock
// across processes). A wait is bounded (LEASE_WAIT, per key): past it the caller gives up what it holds and fails
// with a 503 the client may retry.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import mongoose, { Schema } from 'mongoose';
import type { Collection } from 'mongodb';
import { db } from './adapter.js';
import { isDuplicateKeyError } from './duplicate-key.js';
import { ServiceUnavailableError } from '../errors.js';

interface LeaseDoc {
  _id: string;
  holder: string;
  /** This instance of the lease: a claim names it, so that a takeover removes this instance and no later one. */
  token: string;
  /**
   * The acquisition that took it: its keys are released together by one delete of this equality (served by an
   * index), where deleting them by `_id` costs FerretDB a statement each (10,000 keys: 11 s against 0.4 s).
   */
  acq: string;
  at: Date;
}

interface HolderDoc {
  _id: string;
  expiresAt: Date;
  host: string;
  pid: number;
  startedAt: Date;
}

interface ClaimDoc {
  _id: string;
  by: string;
  at: Date;
}

const leaseSchema = new Schema({ _id: String, holder: String, token: String, acq: String, at: Date }, { versionKey: false, collection: 'leases' });
leaseSchema.index({ acq: 1 });
const holderSchema = new Schema({ _id: String, expiresAt: Date, host: String, pid: Number, startedAt: Date }, { versionKey: false, collection: 'lease_holders' });
const claimSchema = new Schema({ _id: String, by: String, at: Date }, { versionKey: false, collection: 'lease_claims' });
const LeaseModel = mongoose.models.Lease ?? mongoose.model('Lease', leaseSchema);
const HolderModel = mongoose.models.LeaseHolder ?? mongoose.model('LeaseHolder', holderSchema);
const ClaimModel = mongoose.models.LeaseClaim ?? mongoose.model('LeaseClaim', claimSchema);

const leases = () => LeaseModel.collection as unknown as Collection<LeaseDoc>;
const holders = () => HolderModel.collection as unknown as Collection<HolderDoc>;
const claims = () => ClaimModel.collection as unknown as Collection<ClaimDoc>;

interface LeaseOptions {
  /** A holder that has not renewed for this long is dead, and its leases may be taken over. */
  ttlMs: number;
  /** How long one acquisition may wait for keys held by others before it fails (503). */
  waitMs: number;
}

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;
/** Claims are kept a day (a claim removed too soon could be won again by a late claimant of the same instance). */
const CLAIMS_KEPT_MS = 24 * 3600_000;

export interface LeaseStore {
  readonly holder: string;
  /**
   * Takes every key (none this process holds already: locks.ts shares those among its flows); resolves once all
   * are held, with the acquisition's id.
   */
  acquire(keys: readonly string[], waitMs?: number): Promise<string>;
  /** Gives back keys of one acquisition: all of them (one delete of its id) or some. */
  release(acq: string, keys: readonly string[] | 'all'): Promise<void>;
  /** Stops the heartbeat and removes the holder document (its leases must have been released). */
  stop(): Promise<void>;
}

/** A wait for a key another live process holds ran out (nothing was stored under it: the caller gave back what it took). */
export class LeaseWaitTimeoutError extends ServiceUnavailableError {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startLeaseStore(opts: LeaseOptions): Promise<LeaseStore> {
  const holder = `${os.hostname()}:${process.pid}:${randomUUID()}`;
  const renew = () =>
    holders().updateOne(
      { _id: holder },
      { $set: { expiresAt: new Date(Date.now() + opts.ttlMs), host: os.hostname(), pid: process.pid }, $setOnInsert: { startedAt: new Date() } },
      { upsert: true },
    );
  await renew();
  // Old claims and the holder documents of processes long dead: any process may remove them, with the same result.
  await claims().deleteMany({ at: { $lt: new Date(Date.now() - CLAIMS_KEPT_MS) } }).catch(() => undefined);
  await holders().deleteMany({ expiresAt: { $lt: new Date(Date.now() - CLAIMS_KEPT_MS) } }).catch(() => undefined);
  let stopped = false;
  let beating: Promise<unknown> = Promise.resolve();
  /** Releases that failed (the database away), by acquisition: made again at each heartbeat until they work. */
  const pendingRelease = new Map<string, Set<string> | 'all'>();
  /** The heartbeat's retry of failed releases while it runs; an acquisition waits for it (see acquire). */
  let releasing: Promise<void> = Promise.resolve();
  const retryReleases = async () => {
    for (const [acq, keys] of [...pendingRelease]) {
      await leases().deleteMany(keys === 'all' ? { acq, holder } : { acq, holder, _id: { $in: [...keys] } });
      pendingRelease.delete(acq);
    }
  };
  const heartbeat = setInterval(() => {
    // A heartbeat that fails (the database away) is retried at the next tick; TTL is three ticks.
    beating = renew()
      .then(() => {
        if (pendingRelease.size > 0) releasing = retryReleases().catch(() => undefined);
        return releasing;
      })
      .catch(() => undefined);
  }, Math.max(50, Math.floor(opts.ttlMs / 3)));
  heartbeat.unref();

  /** Whether the lease document found for a key belongs to a live holder. */
  async function alive(lease: LeaseDoc): Promise<boolean> {
    if (lease.holder === holder) return true;
    const h = await holders().findOne({ _id: lease.holder });
    return !!h && h.expiresAt.getTime() > Date.now();
  }

  /**
   * One attempt at a dead holder's lease: the claim's winner removes that instance (and only it). A claim names a
   * TTL-long period too, so that if its winner dies before removing the lease, a claim of a later period can.
   */
  async function takeOver(lease: LeaseDoc): Promise<void> {
    try {
      await claims().insertOne({ _id: `${lease._id}#${lease.token}#${Math.floor(Date.now() / opts.ttlMs)}`, by: holder, at: new Date() });
    } catch (err) {
      if (isDuplicateKeyError(err)) return; // another process took this one over
      throw err;
    }
    await leases().deleteOne({ _id: lease._id, token: lease.token });
  }


  const store: LeaseStore = {
    holder,

    async acquire(wanted, waitMs = opts.waitMs) {
      const keys = [...new Set(wanted)].sort();
      const acq = randomUUID();
      // A retried release in flight could remove a lease this call then finds its own (see adoption below).
      await releasing;
      const held = new Set<string>();
      // The wait is bounded per key: the deadline moves on whenever a key is taken.
      let deadline = Date.now() + waitMs;
      let poll = FIRST_POLL_MS;
      /** The key last found held by another live process: until it is taken, no key after it is tried. */
      let waitingFor: string | undefined;
      try {
        for (;;) {
          if (waitingFor !== undefined && held.has(waitingFor)) waitingFor = undefined;
          const docs = keys
            .filter((k) => !held.has(k) && (waitingFor === undefined || k <= waitingFor))
            .map((_id) => ({ _id, holder, token: randomUUID(), acq, at: new Date() }));
          const taken = await db().insertIgnoringDuplicates(leases(), docs);
          const before = held.size;
          docs.forEach((d, i) => {
            if (!taken.has(i)) held.add(d._id);
          });
          const others = docs.filter((_, i) => taken.has(i)).map((d) => d._id);
          if (others.length === 0 && held.size === keys.length) return acq;
          if (others.length === 0) continue;
          // Who holds them: this process (a release that failed, or an insert cut off before it answered: withLocks
          // lets one flow of a process ask for a key at a time, so it is this caller's, and joins this acquisition),
          // a dead process (taken over), nobody any more (inserted again next round), or a live process (waited for).
          const found = await db().readByIds(leases(), others);
          let blocked: LeaseDoc | undefined;
          for (const key of others) {
            const lease = found.get(key);
            if (!lease) continue;
            if (lease.holder === holder) {
              await leases().updateOne({ _id: key, holder }, { $set: { acq } });
              held.add(key);
            } else if (!(await alive(lease))) await takeOver(lease);
            else if (!blocked || key < blocked._id) blocked = lease;
          }
          if (held.size > before) {
            poll = FIRST_POLL_MS;
            deadline = Date.now() + waitMs;
          }
          if (!blocked) continue;
          // Waiting, hold only keys that sort before the one waited for: whoever holds that one waits, if at all,
          // for a key after it, never for one of these. No two holders ever wait for each other.
          const waitedFor = blocked._id;
          waitingFor = waitedFor;
          const after = [...held].filter((k) => k > waitedFor);
          if (after.length) {
            await leases().deleteMany({ acq, holder, _id: { $gt: waitedFor } });
            for (const k of after) held.delete(k);
          }
          if (Date.now() >= deadline) {
            throw new LeaseWaitTimeoutError(`Another request is still changing ${waitedFor}; retry shortly.`, { retryAfterSeconds: 1 });
          }
          await sleep(poll + Math.random() * poll);
          poll = Math.min(MAX_POLL_MS, poll * 2);
        }
      } catch (err) {
        // Everything this acquisition may have stored, an insert cut off by the database included.
        await store.release(acq, 'all');
        throw err;
      }
    },

    async release(acq, keys) {
      try {
        // Only this holder's documents carry this acquisition: no one else's lease can match.
        if (keys === 'all') await leases().deleteMany({ acq, holder });
        else if (keys.length) await leases().deleteMany({ acq, holder, _id: { $in: [...keys] } });
      } catch {
        // Kept as held by this process, whose next flow for a key adopts it; the heartbeat retries meanwhile.
        const pending = pendingRelease.get(acq);
        if (keys === 'all' || pending === 'all') pendingRelease.set(acq, 'all');
        else pendingRelease.set(acq, new Set([...(pending ?? []), ...keys]));
      }
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      await beating;
      await holders().deleteOne({ _id: holder }).catch(() => undefined);
    },
  };
  return store;
}
