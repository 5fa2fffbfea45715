import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { ROLES } from '../platform/roles.js';

// _id is the SHA-256 of the key itself: authentication is one lookup by _id (indexed on every backend,
// including the embedded one), and the clear key is never stored.
const apiKeySchema = new Schema(
  {
    _id: { type: String, required: true },
    id: { type: String, required: true, unique: true },
    name: { type: String, required: true },
    role: { type: String, required: true, enum: ROLES },
    prefix: { type: String, required: true },
    lastUsedAt: { type: Date },
  },
  { timestamps: true, versionKey: false, collection: 'apikeys' },
);

export type ApiKeyDoc = InferSchemaType<typeof apiKeySchema> & { _id: string };
export const ApiKeyModel = mongoose.model('ApiKey', apiKeySchema);
