import mongoose, { Schema, type InferSchemaType } from 'mongoose';

// A user's "additional field" definition, keyed by its key (`_id`): 1-64 letters, digits or '_', starting with a
// letter.
const fieldDefinitionSchema = new Schema(
  {
    _id: { type: String, required: true },
    label: { type: String, required: true },
    type: { type: String, required: true, enum: ['text', 'number', 'date', 'boolean', 'select'] },
    options: { type: [String], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: 'fielddefs' },
);

export type FieldDefinitionDoc = InferSchemaType<typeof fieldDefinitionSchema> & { _id: string };
export const FieldDefinitionModel = mongoose.model('FieldDefinition', fieldDefinitionSchema);
