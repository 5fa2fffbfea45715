// What rule validation needs from the directory: the field definitions (a `field` condition must name one) and
// the known course codes (an unknown course is a warning). Both collections are small; read once per call.
import type { ValidationContext } from '../rules/index.js';
import { loadFieldDefinitions } from './field-definitions.service.js';
import { CourseModel } from './course.model.js';

export async function loadRuleValidationContext(): Promise<ValidationContext> {
  const [fields, courses] = await Promise.all([
    loadFieldDefinitions(),
    CourseModel.find({}, { _id: 1 }).lean<Array<{ _id: string }>>(),
  ]);
  return { fields, courses: new Set(courses.map((c) => c._id)) };
}
