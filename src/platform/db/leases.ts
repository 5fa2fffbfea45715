// Exclusion across processes. A lease on a key is a document whose `_id` is the key, taken by inserting it: the one
// write that has exactly one winner on MongoDB and on FerretDB alike (on FerretDB a condition in an update or a
// delete is checked in Go between a read and a rewrite, so compare-and-set there can have several winners). The
// holder deletes it when done. withLocks (locks.ts) takes these leases behind its in-process queue, so a process
// asks the database once per key however many of its own flows wait for it.
//
// Who holds a lease: a lease names its holder, a process. Each process keeps a holder document alive (a heartbeat
// every third of LEASE_TTL); a lease whose holder document has expired or is gone belongs to a dead process. Taking
// it over is itself an insert: the claim `<key>#<token>` names that one lease instance, so of several processes that
// find the same dead lease exactly one deletes it (no one else deletes that instance: its holder is dead), and then
// everyone competes by insert again. A live process's leases never expire, whatever the work under them lasts.
//
// Many keys are taken in one ordered insert of the sorted keys: the insert stops at the first key someone else
// holds, so a caller holds a prefix of its sorted keys while it waits, and callers that wait for each other always
// wait in key order: no deadlock across processes. A wait is bounded (LEASE_WAIT): past it the caller gives up
// what it holds and fails with a 503 the client may retry.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import mongoose, { Schema } from 'mongoose';
import { MongoBulkWriteError, type Collection } from 'mongodb';
import { isDuplicateKeyError } from './duplicate-key.js';
import { ServiceUnavailableError } from '../errors.js';

interface LeaseDoc {
  _id: string;
  holder: string;
  /** This instance of the lease: a claim names it, so that a takeover removes this instance and no later one. */
  token: string;
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

const leaseSchema = new Schema({ _id: String, holder: String, token: String, at: Date }, { versionKey: false, collection: 'leases' });
const holderSchema = new Schema({ _id: String, expiresAt: Date, host: String, pid: Number, startedAt: Date }, { versionKey: false, collection: 'lease_holders' });
const claimSchema = new Schema({ _id: String, by: String, at: Date }, { versionKey: false, collection: 'lease_claims' });
const LeaseModel = mongoose.models.Lease ?? mongoose.model('Lease', leaseSchema);
const HolderModel = mongoose.models.LeaseHolder ?? mongoose.model('LeaseHolder', holderSchema);
const ClaimModel = mongoose.models.LeaseClaim ?? mongoose.model('LeaseClaim', claimSchema);

const leases = () => LeaseModel.collection as unknown as Collection<LeaseDoc>;
const holders = () => HolderModel.collection as unknown as Collection<HolderDoc>;
const claims = () => ClaimModel.collection as unknown as Collection<ClaimDoc>;

export interface LeaseOptions {
  /** A holder that has not renewed for this long is dead, and its leases may be taken over. */
  ttlMs: number;
  /** How long one acquisition may wait for keys held by others before it fails (503). */
  waitMs: number;
}

/** Keys per insert: an ordered insert stops at the first key held, so chunks keep the order too. */
const CHUNK = 1000;
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;
/** Claims are kept a day (a claim removed too soon could be won again by a late claimant of the same instance). */
const CLAIMS_KEPT_MS = 24 * 3600_000;

export interface LeaseStore {
  readonly holder: string;
  /** Takes every key (a re-entrant caller passes only those it does not hold); resolves once all are held. */
  acquire(keys: readonly string[], waitMs?: number): Promise<void>;
  release(keys: readonly string[]): Promise<void>;
  /** Stops the heartbeat and removes the holder document (its leases must have been released). */
  stop(): Promise<void>;
}

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
  // Old claims and the holder documents of processes long dead; any process may do it, the result is the same.
  await claims().deleteMany({ at: { $lt: new Date(Date.now() - CLAIMS_KEPT_MS) } }).catch(() => undefined);
  let stopped = false;
  let beating: Promise<unknown> = Promise.resolve();
  /** Keys whose release failed (the database away): released again at each heartbeat until it works. */
  const pendingRelease = new Set<string>();
  const heartbeat = setInterval(() => {
    // A heartbeat that fails (the database away) is retried at the next tick; TTL is three ticks.
    beating = renew()
      .then(async () => {
        if (pendingRelease.size === 0) return;
        const keys = [...pendingRelease];
        await deleteLeases(keys);
        for (const k of keys) pendingRelease.delete(k);
      })
      .catch(() => undefined);
  }, Math.max(50, Math.floor(opts.ttlMs / 3)));
  heartbeat.unref();

  /** By `_id` only: while this process lives nobody else deletes its leases, so what is there is this holder's. */
  async function deleteLeases(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += CHUNK) {
      const ops = keys.slice(start, start + CHUNK).map((_id) => ({ deleteOne: { filter: { _id } } }));
      await leases().bulkWrite(ops, { ordered: false });
    }
  }

  /** Whether the lease document found for a key belongs to a live holder. */
  async function alive(lease: LeaseDoc): Promise<boolean> {
    if (lease.holder === holder) return true;
    const h = await holders().findOne({ _id: lease.holder });
    return !!h && h.expiresAt.getTime() > Date.now();
  }

  /** One attempt at a dead holder's lease: the claim's winner removes that instance (and only it). */
  async function takeOver(lease: LeaseDoc): Promise<void> {
    try {
      await claims().insertOne({ _id: `${lease._id}#${lease.token}`, by: holder, at: new Date() });
    } catch (err) {
      if (isDuplicateKeyError(err)) return; // another process took this one over
      throw err;
    }
    await leases().deleteOne({ _id: lease._id, token: lease.token });
  }

  /** Inserts keys in order; returns how many, from the start, are now held by this call. */
  async function insertInOrder(keys: readonly string[]): Promise<number> {
    let held = 0;
    for (let start = 0; start < keys.length; start += CHUNK) {
      const chunk = keys.slice(start, start + CHUNK).map((_id) => ({ _id, holder, token: randomUUID(), at: new Date() }));
      try {
        await leases().insertMany(chunk, { ordered: true });
        held += chunk.length;
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError)) throw err;
        const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
        const first = Math.min(...writeErrors.map((we) => we.index));
        if (!writeErrors.every((we) => isDuplicateKeyError({ code: we.code, message: we.errmsg }))) {
          // Not a held key (the database failed mid-insert): give back what this chunk took.
          await leases().deleteMany({ _id: { $in: chunk.slice(0, first).map((d) => d._id) }, holder });
          throw err;
        }
        return held + first;
      }
    }
    return held;
  }

  const store: LeaseStore = {
    holder,

    async acquire(wanted, waitMs = opts.waitMs) {
      const keys = [...new Set(wanted)].sort();
      const deadline = Date.now() + waitMs;
      let held = 0;
      let poll = FIRST_POLL_MS;
      try {
        while (held < keys.length) {
          const got = await insertInOrder(keys.slice(held));
          held += got;
          if (held === keys.length) break;
          if (got > 0) poll = FIRST_POLL_MS;
          const key = keys[held]!;
          const lease = await leases().findOne({ _id: key });
          if (lease && !(await alive(lease))) {
            await takeOver(lease);
            continue;
          }
          if (lease?.holder === holder) {
            // This process's own lease, left by a release that failed (the database away): withLocks lets one flow
            // of a process at a time ask for a key, so no flow of ours holds it now. It is this caller's.
            pendingRelease.delete(key);
            held++;
            continue;
          }
          if (Date.now() >= deadline) {
            throw new LeaseWaitTimeoutError(`Another request is still changing ${key}; retry shortly.`, { retryAfterSeconds: 1 });
          }
          if (lease) await sleep(poll + Math.random() * poll);
          poll = Math.min(MAX_POLL_MS, poll * 2);
        }
      } catch (err) {
        if (held > 0) await store.release(keys.slice(0, held));
        throw err;
      }
    },

    async release(keys) {
      if (keys.length === 0) return;
      try {
        await deleteLeases(keys);
      } catch {
        // Kept as held by this process, whose next flow for the key adopts it; the heartbeat retries meanwhile.
        for (const k of keys) pendingRelease.add(k);
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
