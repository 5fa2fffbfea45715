import mongoose, { Schema } from 'mongoose';

// A browser session's server-side record. The cookie alone (signed) would be valid until it expires; the record
// is what lets DELETE /session end it at once, and what a revoked key's sessions are deleted with. `_id` is the
// session id the signed cookie names; a lookup is one find by _id.
const sessionSchema = new Schema(
  {
    _id: { type: String, required: true },
    keyId: { type: String, required: true },
    /** The key's createdAt at sign-in: a key revoked and made again with the same secret (BOOTSTRAP_ADMIN_KEY) does not revive its old sessions. */
    keyCreatedAt: { type: Date, required: true },
    role: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, versionKey: false, collection: 'sessions' },
);
sessionSchema.index({ keyId: 1 });

export interface SessionDoc {
  _id: string;
  keyId: string;
  keyCreatedAt: Date;
  role: string;
  expiresAt: Date;
  createdAt: Date;
}

export const SessionModel = mongoose.model('Session', sessionSchema);
