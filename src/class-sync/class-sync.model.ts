import mongoose, { Schema } from 'mongoose';

// A course's class group sync settings, one document per course (`_id` is the course code). The groups it keeps are
// ordinary groups scoped to the course (group.model.ts `scope`); this document holds only what an admin set and what
// the last sync did.
const classSyncSchema = new Schema(
  {
    _id: { type: String, required: true },
    enabled: { type: Boolean, required: true },
    /** When it was last turned on: the 5-month limit counts from here. */
    enabledAt: { type: Date },
    endsAt: { type: Date },
    lastSyncAt: { type: Date },
    /** Why the last sync left something undone (removals the safety valve held). */
    lastError: { type: String },
    heldRemovals: { type: Number },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'class_sync' },
);

export interface ClassSyncDoc {
  _id: string;
  enabled: boolean;
  enabledAt?: Date;
  endsAt?: Date | null;
  lastSyncAt?: Date;
  lastError?: string;
  heldRemovals?: number;
  updatedAt: Date;
}

export const ClassSyncModel = mongoose.model('ClassSync', classSyncSchema);
