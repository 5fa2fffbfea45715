import mongoose, { Schema } from 'mongoose';
import type { RuleDocument } from '../rules/index.js';

// Every rule a group has had. `_id` is `<groupId>:<version>`: inserting the next version is the one step two
// concurrent rule changes cannot both win (the duplicate insert loses), on either backend.
const ruleVersionSchema = new Schema(
  {
    _id: { type: String, required: true },
    group: { type: String, required: true },
    version: { type: Number, required: true },
    rule: { type: Schema.Types.Mixed, required: true },
    actor: { type: String },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'rule_versions', minimize: false },
);
ruleVersionSchema.index({ group: 1, version: -1 });

export interface RuleVersionDoc {
  _id: string;
  group: string;
  version: number;
  rule: RuleDocument;
  actor?: string;
  createdAt: Date;
}

export const ruleVersionId = (groupId: string, version: number): string => `${groupId}:${version}`;
export const RuleVersionModel = mongoose.model('RuleVersion', ruleVersionSchema);
