import mongoose, { Schema, type InferSchemaType } from 'mongoose';

// A course, keyed by its code (`_id`). Codes are 1-64 letters, digits, '-' or '_' (they key enrolments inside
// user documents, so never '.' or '$').
const courseSchema = new Schema(
  {
    _id: { type: String, required: true },
    title: { type: String, required: true },
  },
  { timestamps: true, versionKey: false, collection: 'courses' },
);

export type CourseDoc = InferSchemaType<typeof courseSchema> & { _id: string };
export const CourseModel = mongoose.model('Course', courseSchema);
