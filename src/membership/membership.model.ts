import mongoose, { Schema } from 'mongoose';
import { declareIndex } from '../platform/db/index.js';

// Membership and what surrounds it. Every document that a race must create exactly once has a deterministic `_id`:
// inserting it is the mutual exclusion that works on both backends (the embedded database has no transactions, and its
// compare-and-set updates are not atomic).
//
// Secondary indexes are declared below (declareIndex), where connectDatabase builds them on either backend.
// `class`: a course's class group sync (src/class-sync).
export const MEMBERSHIP_SOURCES = ['rule', 'manual', 'key', 'default', 'csv', 'copy', 'class'] as const;
export type MembershipSource = (typeof MEMBERSHIP_SOURCES)[number];

/** `<groupId>:<externalId>`: a user is at most once in a group. */
export const membershipId = (groupId: string, externalId: string): string => `${groupId}:${externalId}`;

/**
 * A group's members are spread over this many page buckets by a hash of the user. A sorted members page of a large
 * group then reads one bucket (a top-level equality, which the embedded database serves from an index, about 1/64
 * of the group) instead of the whole group, which the embedded database reads and sorts for any sorted page.
 */
export const PAGE_BUCKETS = 64;

/** FNV-1a of the externalId, modulo PAGE_BUCKETS: the user's bucket in every group. */
export function pageBucket(externalId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < externalId.length; i++) {
    h ^= externalId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % PAGE_BUCKETS;
}

/** `<groupId>:<bucket>`, the bucket two digits wide. */
export const membershipPage = (groupId: string, bucket: number): string => `${groupId}:${String(bucket).padStart(2, '0')}`;

const membershipSchema = new Schema(
  {
    _id: { type: String, required: true },
    group: { type: String, required: true },
    externalId: { type: String, required: true },
    source: { type: String, required: true, enum: MEMBERSHIP_SOURCES },
    addedAt: { type: Date, required: true },
    /** The rule version that added it (source rule). */
    ruleVersion: { type: Number },
    /** The writer that inserted it (a job id, or `change:<uuid>` for a directory change): a re-run of the same
     * job recognises its own inserts and completes their history. */
    run: { type: String },
    /** membershipPage(group, pageBucket(externalId)); absent on memberships stored before pages existed (backfilled). */
    page: { type: String },
  },
  { versionKey: false, collection: 'memberships' },
);

export interface MembershipDoc {
  _id: string;
  group: string;
  externalId: string;
  source: MembershipSource;
  addedAt: Date;
  ruleVersion?: number;
  run?: string;
  page?: string;
}
export const MembershipModel = mongoose.model('Membership', membershipSchema);

/** Never a member of the group, whatever its rule says. `_id` as a membership's. */
const exclusionSchema = new Schema(
  {
    _id: { type: String, required: true },
    group: { type: String, required: true },
    externalId: { type: String, required: true },
    actor: { type: String },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'exclusions' },
);

export interface ExclusionDoc {
  _id: string;
  group: string;
  externalId: string;
  actor?: string;
  createdAt: Date;
}
export const ExclusionModel = mongoose.model('Exclusion', exclusionSchema);

/**
 * One entry per real change of membership. The `_id` is derived from the change itself, the membership's identity
 * and the instant it was added (`<groupId>:<externalId>:<addedAt ms>:added|removed`), so that two writers
 * recording the same change write one entry: the second insert is a duplicate and loses.
 */
const historySchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    group: { type: String, required: true },
    externalId: { type: String, required: true },
    action: { type: String, required: true, enum: ['added', 'removed'] },
    source: { type: String, required: true, enum: MEMBERSHIP_SOURCES },
    ruleVersion: { type: Number },
    actor: { type: String },
    reason: { type: String, required: true },
    /** The writer whose insert stored the entry (a WriteContext's runKey): the change log names it (src/changes). */
    run: { type: String },
    /** historySlot(group, at): the second a history page finds it by (history-slots.ts); absent on entries stored before slots existed (backfilled). */
    slot: { type: String },
  },
  { versionKey: false, collection: 'membership_history' },
);

export type HistoryAction = 'added' | 'removed';
export interface HistoryDoc {
  _id: string;
  at: Date;
  group: string;
  externalId: string;
  action: HistoryAction;
  source: MembershipSource;
  ruleVersion?: number;
  actor?: string;
  reason: string;
  run?: string;
  slot?: string;
}
export const historyId = (groupId: string, externalId: string, addedAt: Date, action: HistoryAction): string =>
  `${membershipId(groupId, externalId)}:${addedAt.getTime()}:${action}`;
export const HistoryModel = mongoose.model('MembershipHistory', historySchema);

// The secondary indexes the membership queries use (on the embedded database, through the GIN indexes derived from them).
const asModel = (m: unknown) => m as mongoose.Model<never>;
declareIndex(asModel(MembershipModel), { group: 1, externalId: 1 });
declareIndex(asModel(MembershipModel), { externalId: 1 });
declareIndex(asModel(MembershipModel), { page: 1, externalId: 1 });
declareIndex(asModel(ExclusionModel), { group: 1, externalId: 1 });
declareIndex(asModel(ExclusionModel), { externalId: 1 });
declareIndex(asModel(HistoryModel), { group: 1, at: -1 });
declareIndex(asModel(HistoryModel), { slot: 1 });
