import mongoose, { Schema } from 'mongoose';
import { declareIndex } from '../platform/db/index.js';

// A group key's two collections. The key's value lives on the group (admin and support see it); these make a join
// exact on a database without transactions or an atomic $inc:
//
// - group_keys: `_id` is the SHA-256 of the key, so a join finds its group by an indexed `_id` equality and never
//   compares secrets itself. `keyId` names which key of the group it was: one rotated away no longer matches the
//   group's current `key.id` and stops working at once, even before its document is deleted.
// - group_key_uses: one document per use, `_id` `<group>:<keyId>:<n>` for n in 1..maxUses. Two joins racing for
//   the last use insert the same `_id`; the database lets one win. Unlimited keys record `<group>:<keyId>:u:<user>`.
export interface GroupKeyDoc {
  _id: string;
  group: string;
  keyId: string;
  createdAt: Date;
}
export interface GroupKeyUseDoc {
  _id: string;
  group: string;
  keyId: string;
  externalId: string;
  at: Date;
}

const groupKeySchema = new Schema(
  { _id: { type: String, required: true }, group: { type: String, required: true }, keyId: { type: String, required: true }, createdAt: { type: Date, required: true } },
  { versionKey: false, collection: 'group_keys' },
);
const groupKeyUseSchema = new Schema(
  {
    _id: { type: String, required: true },
    group: { type: String, required: true },
    keyId: { type: String, required: true },
    externalId: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'group_key_uses' },
);

export const GroupKeyModel = mongoose.model('GroupKey', groupKeySchema);
export const GroupKeyUseModel = mongoose.model('GroupKeyUse', groupKeyUseSchema);

const asModel = (m: unknown) => m as mongoose.Model<never>;
declareIndex(asModel(GroupKeyModel), { group: 1 });
declareIndex(asModel(GroupKeyUseModel), { group: 1, keyId: 1 });
