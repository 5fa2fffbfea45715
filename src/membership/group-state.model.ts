import mongoose, { Schema } from 'mongoose';

// What moves with syncs, kept apart from the group's configuration and from each other: a sync job writing its
// state and a directory change counting a new member would otherwise rewrite each other's fields (the embedded database
// updates read, change in Go and rewrite the whole document, with nothing in between).

export const SYNC_STATES = ['idle', 'queued', 'running', 'failed'] as const;
export type SyncState = (typeof SYNC_STATES)[number];

/** `_id` is the group id. Written by whoever queues a sync and by the sync jobs. */
const groupSyncSchema = new Schema(
  {
    _id: { type: String, required: true },
    state: { type: String, required: true, enum: SYNC_STATES },
    jobId: { type: String },
    lastSyncAt: { type: Date },
    lastError: { type: String },
    /** Removals the safety valve holds until an admin confirms. */
    heldRemovals: { type: Number },
    updatedAt: { type: Date },
  },
  { versionKey: false, collection: 'group_sync' },
);

export interface GroupSyncDoc {
  _id: string;
  state: SyncState;
  jobId?: string;
  lastSyncAt?: Date;
  lastError?: string;
  heldRemovals?: number;
  updatedAt?: Date;
}
export const GroupSyncModel = mongoose.model('GroupSync', groupSyncSchema);

/** `_id` is the group id. Counted up and down by changes as they are written; set exactly by every sync. */
const groupCountsSchema = new Schema(
  {
    _id: { type: String, required: true },
    memberCount: { type: Number, required: true, default: 0 },
    lastChangeAt: { type: Date },
  },
  { versionKey: false, collection: 'group_counts' },
);

export interface GroupCountsDoc {
  _id: string;
  memberCount: number;
  lastChangeAt?: Date;
}
export const GroupCountsModel = mongoose.model('GroupCounts', groupCountsSchema);

/** One full sync: the partition boundaries every partition job reads, fixed by the first run of the parent job. */
const syncRunSchema = new Schema(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    /** Exclusive upper bounds of the partitions by externalId, but the last (unbounded). */
    bounds: { type: [String], default: [] },
    users: { type: Number, required: true },
    groups: { type: [String], default: [] },
    /** Where the change feed stood before the run read anything (changed-meanwhile.ts). */
    feedAt: { type: Number },
  },
  { versionKey: false, collection: 'sync_runs' },
);

export interface SyncRunDoc {
  _id: string;
  at: Date;
  bounds: string[];
  users: number;
  groups: string[];
  feedAt?: number;
}
export const SyncRunModel = mongoose.model('SyncRun', syncRunSchema);
