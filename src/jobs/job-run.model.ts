import mongoose, { Schema, type InferSchemaType } from 'mongoose';

// What `GET /api/v1/jobs/{id}` shows. Agenda's own documents are removed on completion (the embedded database scans them on
// every poll, so that collection must stay small); this record is the lasting one.
const jobRunSchema = new Schema(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    status: { type: String, required: true, enum: ['queued', 'running', 'completed', 'failed'] },
    progress: {
      done: { type: Number, default: 0 },
      total: { type: Number, default: 0 },
    },
    data: { type: Schema.Types.Mixed },
    result: { type: Schema.Types.Mixed },
    error: { type: String },
    actor: { type: String },
    attempts: { type: Number, default: 0 },
    startedAt: { type: Date },
    finishedAt: { type: Date },
  },
  { timestamps: true, versionKey: false, collection: 'jobs', minimize: false },
);
jobRunSchema.index({ createdAt: -1 });

export type JobRunDoc = InferSchemaType<typeof jobRunSchema> & { _id: string };
export const JobRunModel = mongoose.model('JobRun', jobRunSchema);
