import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { declareIndex } from '../platform/db/index.js';
import type { UserRecord } from './user.schema.js';

// A user of the directory. `_id` is the externalId: every lookup the API and membership evaluation make is by
// _id, the one query the embedded database answers from an index.
//
// Enrolments live inside the user document, keyed by course code: evaluating a user against every rule is one
// read, and a full sync is one pass over one collection (no join, which neither $lookup-less backend offers).
// Course codes and field keys are validated never to contain '.' or start with '$', so they are safe as keys.
const enrollmentSchema = new Schema(
  {
    status: { type: String, required: true, enum: ['subscribed', 'in_progress', 'completed', 'waitlisted', 'suspended'] },
    role: { type: String, required: true, enum: ['student', 'instructor'], default: 'student' },
    class: { type: String },
    cohort: { type: String },
    mode: { type: String, enum: ['internal', 'external'] },
    enrolledAt: { type: Date, required: true },
    completedAt: { type: Date },
    updatedAt: { type: Date, required: true },
    /** `group:<id>` when a group's courses made this enrolment (group-courses.ts): only then may the group undo it. */
    enrolledBy: { type: String },
  },
  { _id: false },
);

const userSchema = new Schema(
  {
    _id: { type: String, required: true },
    email: { type: String, required: true },
    /** Lower-cased email: the unique index that makes emails unique case-insensitively. */
    emailLower: { type: String, required: true, unique: true },
    firstName: { type: String, required: true },
    lastName: { type: String, required: true },
    type: { type: String, required: true, enum: ['learner', 'staff'] },
    status: { type: String, required: true, enum: ['active', 'inactive'] },
    branch: { type: String },
    /** Additional fields, validated against field definitions. Date fields are calendar dates 'YYYY-MM-DD'. */
    fields: { type: Schema.Types.Mixed, default: {} },
    enrollments: { type: Map, of: enrollmentSchema, default: {} },
    /**
     * Counts the user's writes: each write claims the next version in the outbox (user-events.ts) and is conditional
     * on the version it read. Absent on users stored before versions (read as 0).
     */
    version: { type: Number },
  },
  { timestamps: true, versionKey: false, collection: 'users', minimize: false },
);
userSchema.index({ branch: 1, _id: 1 });
userSchema.index({ status: 1 });

export type EnrollmentDoc = InferSchemaType<typeof enrollmentSchema>;
/** The stored user as read with .lean(): enrollments is a plain object keyed by course code. */
export interface UserDoc extends UserRecord {
  _id: string;
  emailLower: string;
  enrollments: Record<string, EnrollmentDoc>;
  version?: number;
  createdAt: Date;
  updatedAt: Date;
}
export const UserModel = mongoose.model('User', userSchema);

// `fields.<key>` and `enrollments.<course>` paths depend on the data (one per field definition, one per course):
// on MongoDB one wildcard index serves each family, for the user list's `field.<key>=` filters and a course's
// enrolment list. connectDatabase builds them on MongoDB only: the embedded database accepts a wildcard index, then fails every
// later write.
declareIndex(UserModel as unknown as mongoose.Model<never>, { 'fields.$**': 1 });
declareIndex(UserModel as unknown as mongoose.Model<never>, { 'enrollments.$**': 1 });
