import mongoose, { Schema } from 'mongoose';
import type { RuleDocument } from '../rules/index.js';

// A group: its configuration only. What changes with every sync (state, member count) lives in group_sync and
// group_counts, so that a job recording its progress and an admin editing the group never rewrite each other's
// fields (the embedded database rewrites the whole document on every update, with no transaction around the read).
//
// Names are unique within a scope: '' for global groups, a course code for the groups a course keeps. The unique
// index on { scope, nameLower } is what makes that true under concurrent writes.
export const GROUP_TYPES = ['manual', 'automatic'] as const;
export const MANUAL_MEMBER_POLICIES = ['remove', 'keep', 'keep-staff'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];
export type ManualMemberPolicy = (typeof MANUAL_MEMBER_POLICIES)[number];

const groupSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    nameLower: { type: String, required: true },
    scope: { type: String, default: '' },
    description: { type: String },
    type: { type: String, required: true, enum: GROUP_TYPES },
    rule: { type: Schema.Types.Mixed },
    /** 0 for manual groups; the version of `rule` (see rule_versions) for automatic ones. */
    ruleVersion: { type: Number, default: 0 },
    manualMembers: { type: String, enum: MANUAL_MEMBER_POLICIES, default: 'remove' },
    includeInactive: { type: Boolean, default: false },
    paused: { type: Boolean, default: false },
    courses: { type: [String], default: [] },
    // id and value: the current key (group-keys.ts); a key's uses are counted in group_key_uses.
    key: { type: new Schema({ enabled: { type: Boolean, required: true }, maxUses: { type: Number }, id: { type: String }, value: { type: String } }, { _id: false }) },
    price: { type: Number },
    createdBy: { type: String },
    /** Counts the writes of this configuration; each is conditional on the version read (group-writes.ts). */
    version: { type: Number },
  },
  { timestamps: true, versionKey: false, collection: 'groups', minimize: false },
);
groupSchema.index({ scope: 1, nameLower: 1 }, { unique: true });
groupSchema.index({ type: 1, paused: 1 });

/** A group's key: what an admin set, and the current key itself (absent on groups stored before keys were made). */
export interface GroupKeyConfig {
  enabled: boolean;
  maxUses?: number;
  id?: string;
  value?: string;
}

export interface GroupDoc {
  _id: string;
  name: string;
  nameLower: string;
  scope: string;
  description?: string;
  type: GroupType;
  rule?: RuleDocument;
  ruleVersion: number;
  manualMembers: ManualMemberPolicy;
  includeInactive: boolean;
  paused: boolean;
  courses: string[];
  key?: GroupKeyConfig;
  price?: number;
  createdBy?: string;
  version?: number;
  createdAt: Date;
  updatedAt: Date;
}

export const GroupModel = mongoose.model('Group', groupSchema);
