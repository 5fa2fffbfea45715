// The directory as a preview reads it: every user's facts and every membership, held in this process. It is loaded
// from the stored snapshot and brought up to date from the change feed on every use, so a preview sees every write
// that has answered: the feed entry is written before the write answers, and a use that arrives while a refresh is
// running waits for a new one.
//
// When the feed has grown well past the stored snapshot, this process stores what it holds as the next snapshot
// (compaction: no database read). After each full sync a job rebuilds the snapshot from the users and memberships
// themselves, which also repairs what a dead writer never entered in the feed. With no snapshot at all, the first use
// builds one from the database.
//
// Held in memory after use, dropped after IDLE_MS without one.
import mongoose from 'mongoose';
import { currentMembershipOf } from '../membership/policy.js';
import { toUserFacts } from '../directory/user-facts.js';
import { usersCollection } from '../directory/user-store.js';
import { memberships } from '../membership/membership-store.js';
import type { MembershipDoc } from '../membership/membership.model.js';
import { db as database } from '../platform/db/index.js';
import { ServiceUnavailableError } from '../platform/errors.js';
import { feedHeadSeq, feedSeq, forgetFeed, readChangesAfter } from './change-feed.js';
import { readHeader, readSnapshot, startSnapshot, writeSnapshot, type SnapshotContent, type SnapshotUser, type SnapshotWriter } from './snapshot-store.js';

/** Feed entries applied beyond the stored snapshot that make this process store a new one. */
export const COMPACT_AFTER_ENTRIES = 2000;
/**
 * A catch-up reads every changed user by `_id` and every user's memberships by `externalId` (one indexed read each,
 * about 0.4 ms on the embedded database, 16 at a time). Reading the whole directory instead costs about as much as
 * reading a third of it that way (83 s at 100,000 users and 550,000 memberships), so a catch-up naming more reads
 * than that rebuilds instead.
 */
const REBUILD_SHARE = 1 / 3;
const IDLE_MS = 10 * 60_000;

interface DirectorySnapshot extends SnapshotContent {
  /** The change-feed number it holds every change up to. */
  seq: number;
}

interface Held {
  db: string;
  gen: string;
  /** The feed number of the stored generation `gen`. */
  storedSeq: number;
  snap: DirectorySnapshot;
}

let held: Held | undefined;
let running: Promise<DirectorySnapshot> | undefined;
let queued: Promise<DirectorySnapshot> | undefined;
let compacting: Promise<void> | undefined;
let idleTimer: NodeJS.Timeout | undefined;

/** The snapshot, up to date with every change entered in the feed before this call. */
export function currentSnapshot(): Promise<DirectorySnapshot> {
  touch();
  if (!running) {
    running = refresh().finally(() => (running = undefined));
    return running;
  }
  // A refresh under way may have read the feed before this caller's own write: wait for a new one.
  queued ??= running
    .catch(() => undefined)
    .then(() => {
      queued = undefined;
      return currentSnapshot();
    });
  return queued;
}

/** Loads (a stored snapshot read, or a build from the database) that another generation overtook, before giving up. */
const LOAD_ATTEMPTS = 4;

async function refresh(): Promise<DirectorySnapshot> {
  const db = mongoose.connection.name;
  if (held && held.db !== db) held = undefined;
  let replacedWhileRead = 0;
  for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
    const header = await readHeader();
    if (header && held?.gen !== header.gen && replacedWhileRead < 2) {
      const content = await readSnapshot(header);
      // A newer snapshot replaced this one while it was being read: read the newer one (or build, if this keeps on).
      if (!content) {
        replacedWhileRead++;
        continue;
      }
      held = { db, gen: header.gen, storedSeq: header.seq, snap: { ...content, seq: header.seq } };
    }
    if (header && held?.gen === header.gen && (await catchUp(held.snap))) return compactIfDue(held);
    // None stored, a catch-up that would read more than the whole directory, or snapshots that keep being replaced.
    const built = await holdFromDatabase(db);
    if (built) {
      held = built;
      return compactIfDue(held);
    }
    // Another generation became current instead of the one built (see holdFromDatabase): read that one.
  }
  throw new ServiceUnavailableError('The directory snapshot kept being replaced while this process loaded it; try the preview again.');
}

function compactIfDue(current: Held): DirectorySnapshot {
  if (current.snap.seq - current.storedSeq >= COMPACT_AFTER_ENTRIES && !compacting) {
    compacting = compact(current).finally(() => (compacting = undefined));
  }
  return current.snap;
}

/**
 * Applies the feed entries after the snapshot's number: the users and memberships they name are read again (so
 * applying an entry twice, or out of order, is harmless). A changed user is one read by `_id`; the memberships named
 * are read per user, all of a user's at once (by `externalId`, an indexed equality on both backends): a write that
 * moves a user in a dozen groups costs one read, not a dozen. False when they name so many that reading everything
 * costs less (after a first full sync, or a large import).
 */
async function catchUp(snap: DirectorySnapshot): Promise<boolean> {
  const entries = await readChangesAfter(snap.seq);
  if (entries.length === 0) return true;
  const users = new Set<string>();
  /** externalId → the groups whose membership of it an entry names. */
  const named = new Map<string, Set<string>>();
  for (const e of entries) {
    for (const g of e.deletedGroups ?? []) snap.members.delete(g);
    for (const u of e.users ?? []) users.add(u);
    for (const id of e.memberships ?? []) {
      const sep = id.indexOf(':');
      const externalId = id.slice(sep + 1);
      let groups = named.get(externalId);
      if (!groups) named.set(externalId, (groups = new Set()));
      groups.add(id.slice(0, sep));
    }
  }
  let size = snap.users.size;
  for (const m of snap.members.values()) size += m.size;
  if (users.size + named.size > Math.max(1000, size * REBUILD_SHARE)) return false;
  // The share above is what makes lookups the cheaper read: the adapter need not weigh them against the collections.
  const [found, stored] = await Promise.all([
    database().readByIds(usersCollection(), [...users], { lookUp: true }),
    database().readWhereIn(memberships(), 'externalId', [...named.keys()], { lookUp: true }),
  ]);
  for (const id of users) {
    const doc = found.get(id);
    if (doc) snap.users.set(id, factsOrError(doc));
    else snap.users.delete(id);
  }
  const storedOf = new Map<string, Map<string, MembershipDoc>>();
  for (const m of stored) {
    let groups = storedOf.get(m.externalId);
    if (!groups) storedOf.set(m.externalId, (groups = new Map()));
    groups.set(m.group, m);
  }
  for (const [externalId, groups] of named) {
    for (const groupId of groups) {
      const m = storedOf.get(externalId)?.get(groupId);
      let members = snap.members.get(groupId);
      if (m) {
        if (!members) snap.members.set(groupId, (members = new Map()));
        members.set(externalId, currentMembershipOf(m));
      } else {
        members?.delete(externalId);
      }
    }
  }
  snap.seq = feedSeq(entries[entries.length - 1]!._id);
  return true;
}

/**
 * Reads every user and membership (a full read: seconds per 10,000 users on the embedded database) and stores it,
 * chunk by chunk as it reads: the process holds one chunk, not the directory.
 */
export async function buildSnapshotFromDatabase(progress?: Progress): Promise<{ seq: number; users: number; memberships: number }> {
  // Not held: a process that reads snapshots loads the new generation at its next use.
  const { seq, counts } = await buildFromDatabase({ progress });
  return { seq, ...counts };
}

/** Documents read so far, and about how many there are (a long read reports, so that its job keeps its lock). */
export type Progress = (read: number, total: number) => Promise<void>;
const PROGRESS_EVERY = 5000;

/**
 * Streams the users and memberships collections into a new stored snapshot; with `hold`, also into the maps this
 * process previews from (the first preview, or a catch-up that would read more than the whole directory).
 */
async function buildFromDatabase(opts: { progress?: Progress; hold?: string }): Promise<{ seq: number; counts: SnapshotWriter['counts']; held?: Held }> {
  const { progress, hold } = opts;
  // Every change entered after this number is applied by the readers, so it is taken before reading.
  const seq = await feedHeadSeq();
  const total = progress ? (await database().estimateCount(usersCollection())) + (await database().estimateCount(memberships())) : 0;
  let read = 0;
  const tick = async () => {
    if (progress && ++read % PROGRESS_EVERY === 0) await progress(Math.min(read, total), total);
  };
  const writer = startSnapshot(seq, 'database');
  const snap: DirectorySnapshot | undefined = hold !== undefined ? { users: new Map(), members: new Map(), seq } : undefined;
  for await (const doc of usersCollection().find({}).batchSize(2000)) {
    const user = factsOrError(doc);
    snap?.users.set(doc._id, user);
    await writer.addUser(doc._id, user);
    await tick();
  }
  for await (const m of memberships().find({}).batchSize(5000)) {
    const membership = currentMembershipOf(m);
    if (snap) {
      let group = snap.members.get(m.group);
      if (!group) snap.members.set(m.group, (group = new Map()));
      group.set(m.externalId, membership);
    }
    await writer.addMembership(m.group, m.externalId, membership);
    await tick();
  }
  const header = await writer.finish();
  // Held only under its own generation. When another stayed or became current instead (finish dropped this one
  // because snapshots stored meanwhile pruned feed entries after `seq`, or lost a race), this copy is not that
  // generation: labelled as it, its catch-up would start at `seq` and stop silently at the pruned gap.
  const current = header.gen === writer.gen;
  return { seq, counts: writer.counts, ...(snap && hold !== undefined && current ? { held: { db: hold, gen: writer.gen, storedSeq: seq, snap } } : {}) };
}

/**
 * What a process previews from, read from the database: held, and stored for the others. Undefined when another
 * generation is current instead of the one built: the caller reads that one.
 */
async function holdFromDatabase(db: string): Promise<Held | undefined> {
  return (await buildFromDatabase({ hold: db })).held;
}

/**
 * Brings the stored snapshot up to date with the feed (the recurring job, SNAPSHOT_CRON): a preview then catches up
 * only on the changes since, however long nobody previewed. Returns the feed number stored.
 */
export async function refreshStoredSnapshot(): Promise<{ seq: number; stored: boolean }> {
  // Nothing stored, nothing to bring up to date. The first snapshot is built by a preview or after a full sync:
  // building it here read the whole directory in a process that may never preview (91 s under the load bench,
  // while its clients waited).
  if (!(await readHeader())) return { seq: await feedHeadSeq(), stored: false };
  const snap = await currentSnapshot();
  const current = held;
  if (!current || current.snap !== snap) return { seq: snap.seq, stored: false };
  // A compaction a preview started may have stored less than this process now holds.
  if (compacting) await compacting;
  if (current.snap.seq === current.storedSeq) return { seq: snap.seq, stored: false };
  compacting = compact(current).finally(() => (compacting = undefined));
  await compacting;
  return { seq: current.storedSeq, stored: true };
}

async function compact(from: Held): Promise<void> {
  const seq = from.snap.seq;
  const header = await writeSnapshot(from.snap, seq, 'feed');
  if (held === from && header.gen !== from.gen && header.seq === seq) {
    from.gen = header.gen;
    from.storedSeq = seq;
  }
}

/** A user the facts cannot be built for is kept with the reason, so that a preview fails where a sync would. */
function factsOrError(doc: Parameters<typeof toUserFacts>[0]): SnapshotUser {
  try {
    return toUserFacts(doc);
  } catch (err) {
    return { unreadable: err instanceof Error ? err.message : String(err), status: String(doc.status), type: String(doc.type) };
  }
}

function touch(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (!running && !compacting) held = undefined;
  }, IDLE_MS);
  idleTimer.unref();
}

/** Forgets everything held (the service stops; or a test needs a process that never read the snapshot). */
export async function forgetSnapshot(): Promise<void> {
  await Promise.allSettled([running, queued, compacting]);
  held = undefined;
  if (idleTimer) clearTimeout(idleTimer);
  forgetFeed();
}
