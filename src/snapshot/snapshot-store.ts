// The stored snapshot: every user's rule facts and every membership, as of a change-feed number, compressed into a
// few hundred chunk documents. Reading 100,000 users this way takes well under a second on the embedded database,
// where reading the users collection takes over half a minute (the embedded database decodes each document field by field; a
// compressed chunk is one binary value). It is a copy made for reading, never the truth: writes go to users and
// memberships, and a reader brings the copy up to date from the change feed.
//
// A new snapshot is a new generation: its chunks are written under a new name first, then the header is replaced,
// then the previous generation's chunks and the feed entries both snapshots already hold are deleted.
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import mongoose, { Schema } from 'mongoose';
import { Binary, type Collection } from 'mongodb';
import type { UserFacts } from '../rules/index.js';
import type { MembershipSource } from '../membership/membership.model.js';
import type { CurrentMembership } from '../membership/policy.js';
import { isDuplicateKeyError } from '../platform/db/index.js';
import { pruneFeed } from './change-feed.js';
import { eachLimited } from '../platform/each-limited.js';

const deflate = promisify(zlib.deflateRaw);
const inflate = promisify(zlib.inflateRaw);

const USERS_PER_CHUNK = 5000;
const MEMBERSHIPS_PER_CHUNK = 20000;
const CHUNK_READS_IN_FLIGHT = 4;
/** Chunks of a generation that never became current (its writer lost a race, or died) are deleted after this. */
const ABANDONED_AFTER_MS = 10 * 60_000;

/** A user whose stored document cannot be read as facts: the reason, and what eligibility needs. */
interface UnreadableUser {
  unreadable: string;
  status: string;
  type: string;
}
export type SnapshotUser = UserFacts | UnreadableUser;

export interface SnapshotContent {
  /** externalId → the facts its rules see. */
  users: Map<string, SnapshotUser>;
  /** groupId → externalId → membership. */
  members: Map<string, Map<string, CurrentMembership>>;
}

export interface SnapshotHeader {
  _id: 'current';
  gen: string;
  /** The change-feed number it holds every change up to. */
  seq: number;
  /** Feed entries numbered this and below may have been deleted; no writer uses those numbers again. */
  prunedTo: number;
  takenAt: Date;
  /** 'database': read from users and memberships; 'feed': an earlier snapshot with the feed applied. */
  origin: 'database' | 'feed';
  chunks: { users: number; memberships: number };
  counts: { users: number; memberships: number };
}

interface ChunkDoc {
  _id: string;
  gen: string;
  at: Date;
  data: Binary;
}

const headerSchema = new Schema({ _id: { type: String, required: true } }, { versionKey: false, strict: false, collection: 'snapshots' });
const HeaderModel = mongoose.model('SnapshotHeader', headerSchema);
const chunkSchema = new Schema({ _id: { type: String, required: true } }, { versionKey: false, strict: false, collection: 'snapshot_chunks' });
const ChunkModel = mongoose.model('SnapshotChunk', chunkSchema);

const headers = (): Collection<SnapshotHeader> => HeaderModel.collection as unknown as Collection<SnapshotHeader>;
const chunks = (): Collection<ChunkDoc> => ChunkModel.collection as unknown as Collection<ChunkDoc>;
const chunkId = (gen: string, kind: 'u' | 'm', i: number) => `${gen}:${kind}:${i}`;
const chunkIds = (header: SnapshotHeader): string[] => [
  ...Array.from({ length: header.chunks.users }, (_, i) => chunkId(header.gen, 'u', i)),
  ...Array.from({ length: header.chunks.memberships }, (_, i) => chunkId(header.gen, 'm', i)),
];

export async function readHeader(): Promise<SnapshotHeader | null> {
  return headers().findOne({ _id: 'current' });
}

/** A membership row in a chunk: [groupId, externalId, source, addedAt ms, ruleVersion or null]. */
type MemberRow = [string, string, MembershipSource, number, number | null];

/**
 * A new generation being written: rows go into chunks as they come, so a build that streams the users and
 * memberships collections into it holds one chunk of each kind at a time, never the whole directory (holding it
 * all, then writing it, made the build job's process peak above 1 GB at 100,000 users). `finish` makes it current.
 */
export interface SnapshotWriter {
  /** The generation being written: current after `finish` only if the header it returns names it. */
  readonly gen: string;
  addUser(externalId: string, user: SnapshotUser): Promise<void>;
  addMembership(groupId: string, externalId: string, m: CurrentMembership): Promise<void>;
  /** Rows added so far. */
  readonly counts: { readonly users: number; readonly memberships: number };
  /** Makes the generation current (or drops it, if another became current meanwhile) and returns the header now current. */
  finish(): Promise<SnapshotHeader>;
}

export function startSnapshot(seq: number, origin: SnapshotHeader['origin']): SnapshotWriter {
  const gen = `${seq}-${randomBytes(4).toString('hex')}`;
  const at = new Date();
  const written = { u: 0, m: 0 };
  const counts = { users: 0, memberships: 0 };
  const rows: { u: unknown[]; m: unknown[] } = { u: [], m: [] };
  const flush = async (kind: 'u' | 'm') => {
    const data = new Binary(await deflate(JSON.stringify(rows[kind]), { level: 1 }));
    rows[kind] = [];
    await chunks().insertOne({ _id: chunkId(gen, kind, written[kind]++), gen, at, data });
  };
  return {
    gen,
    counts,
    async addUser(externalId, user) {
      rows.u.push([externalId, user]);
      counts.users++;
      if (rows.u.length === USERS_PER_CHUNK) await flush('u');
    },
    async addMembership(groupId, externalId, m) {
      rows.m.push([groupId, externalId, m.source, m.addedAt.getTime(), m.ruleVersion ?? null] satisfies MemberRow);
      counts.memberships++;
      if (rows.m.length === MEMBERSHIPS_PER_CHUNK) await flush('m');
    },
    async finish() {
      if (rows.u.length) await flush('u');
      if (rows.m.length) await flush('m');
      // Read now, not at the start: a build takes minutes, and the generation this one replaces is the one current now.
      const previous = await readHeader();
      if (previous && previous.prunedTo > seq) {
        // Snapshots stored while this one was built pruned feed entries it would need to catch up: readers would take
        // it for up to date and miss those changes. The current one stays.
        await chunks().deleteMany({ gen });
        return previous;
      }
      // The feed entries both the previous and this snapshot hold can go (never above a number a reader may still need).
      const prunedTo = Math.max(previous?.prunedTo ?? 0, Math.min(previous?.seq ?? 0, seq));
      const header: SnapshotHeader = { _id: 'current', gen, seq, prunedTo, takenAt: at, origin, chunks: { users: written.u, memberships: written.m }, counts: { ...counts } };
      await replaceHeader(header);
      const now = await readHeader();
      if (now?.gen !== gen) {
        // Another snapshot became current after this one: this generation is not needed.
        await chunks().deleteMany({ gen });
        return now ?? header;
      }
      if (previous) await deleteGeneration(previous);
      await chunks().deleteMany({ gen: { $ne: gen }, at: { $lt: new Date(Date.now() - ABANDONED_AFTER_MS) } });
      await pruneFeed(prunedTo);
      return header;
    },
  };
}

/** Stores `content` (what a process holds) as the snapshot at feed number `seq`, and makes it current. */
export async function writeSnapshot(content: SnapshotContent, seq: number, origin: SnapshotHeader['origin']): Promise<SnapshotHeader> {
  const writer = startSnapshot(seq, origin);
  for (const [id, user] of content.users) await writer.addUser(id, user);
  for (const [groupId, members] of content.members) {
    for (const [id, m] of members) await writer.addMembership(groupId, id, m);
  }
  return writer.finish();
}

async function replaceHeader(header: SnapshotHeader): Promise<void> {
  try {
    await headers().replaceOne({ _id: 'current' }, header, { upsert: true });
  } catch (err) {
    // Two first snapshots at once on the embedded database: the upserts race; the loser replaces the winner's header.
    if (!isDuplicateKeyError(err)) throw err;
    await headers().replaceOne({ _id: 'current' }, header);
  }
}

async function deleteGeneration(header: SnapshotHeader): Promise<void> {
  for (const _id of chunkIds(header)) await chunks().deleteOne({ _id });
}

/** The content of the snapshot `header` names; undefined when a chunk is gone (a newer snapshot replaced it). */
export async function readSnapshot(header: SnapshotHeader): Promise<SnapshotContent | undefined> {
  const content: SnapshotContent = { users: new Map(), members: new Map() };
  const ids = chunkIds(header);
  let missing = false;
  await eachLimited(ids, CHUNK_READS_IN_FLIGHT, async (id) => {
    if (missing) return;
    const doc = await chunks().findOne({ _id: id });
    if (!doc) {
      missing = true;
      return;
    }
    const rows = JSON.parse((await inflate(doc.data.buffer)).toString('utf8')) as unknown[];
    if (id.includes(':u:')) {
      for (const [externalId, facts] of rows as Array<[string, SnapshotUser]>) content.users.set(externalId, facts);
    } else {
      for (const [groupId, externalId, source, addedAt, ruleVersion] of rows as MemberRow[]) {
        let members = content.members.get(groupId);
        if (!members) content.members.set(groupId, (members = new Map()));
        members.set(externalId, { source, addedAt: new Date(addedAt), ...(ruleVersion !== null ? { ruleVersion } : {}) });
      }
    }
  });
  return missing ? undefined : content;
}
