// A user's additional fields checked against the field definitions: an undefined key, a value of the wrong type,
// a value outside a select's options or an impossible date is an error naming `fields.<key>`. Date fields are
// calendar dates, stored as 'YYYY-MM-DD'.
import type { FieldError } from '../platform/errors.js';
import type { FieldType } from './field-definition.schema.js';

export type FieldValue = string | number | boolean;

export interface FieldDefinition {
  key: string;
  label: string;
  type: FieldType;
  options?: string[];
}

export type FieldDefinitions = ReadonlyMap<string, FieldDefinition>;

const MAX_TEXT_VALUE = 1000;

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written 'YYYY-MM-DD' (2025-02-30 is not one). */
export function isCalendarDate(value: string): boolean {
  const m = DATE_PATTERN.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** Why a value does not fit the definition, or undefined when it does. */
export function fieldValueProblem(def: FieldDefinition, value: unknown): string | undefined {
  switch (def.type) {
    case 'text':
      if (typeof value !== 'string') return 'must be a string (a text field)';
      if (value.length > MAX_TEXT_VALUE) return `must be at most ${MAX_TEXT_VALUE} characters`;
      return undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number (a number field)';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false (a boolean field)';
    case 'date':
      if (typeof value !== 'string') return 'must be a date written YYYY-MM-DD (a date field)';
      return isCalendarDate(value) ? undefined : `must be a real calendar date written YYYY-MM-DD (got "${value.slice(0, 40)}")`;
    case 'select':
      if (typeof value !== 'string' || !(def.options ?? []).includes(value)) {
        return `must be one of the field's options: ${(def.options ?? []).map((o) => JSON.stringify(o)).join(', ')}`;
      }
      return undefined;
  }
}

interface CheckedFields {
  /** The accepted values; `null` (only when nulls are allowed) means "clear this field". */
  values: Record<string, FieldValue | null>;
  errors: FieldError[];
}

/**
 * Checks every entry of `fields`. `nulls`: 'clear' keeps a null as "clear the field" (PATCH), 'omit' drops it
 * (a full record, where a field without a value is simply absent).
 */
export function checkFieldValues(fields: Record<string, unknown>, defs: FieldDefinitions, nulls: 'clear' | 'omit'): CheckedFields {
  const values: Record<string, FieldValue | null> = {};
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(fields)) {
    const path = `fields.${key}`;
    const def = defs.get(key);
    if (!def) {
      errors.push({ path, message: `is not a defined field (define it with PUT /api/v1/fields/${key.slice(0, 64)})` });
      continue;
    }
    if (value === null) {
      if (nulls === 'clear') values[key] = null;
      continue;
    }
    const problem = fieldValueProblem(def, value);
    if (problem) errors.push({ path, message: problem });
    else values[key] = value as FieldValue;
  }
  return { values, errors };
}

/**
 * A value written as text (a CSV cell, a query parameter) converted by the field's type. A text that does not
 * convert is returned as it is, so that checking it names the field with the type's message.
 */
export function fieldValueFromText(def: FieldDefinition, text: string): unknown {
  switch (def.type) {
    case 'number': {
      const t = text.trim();
      if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
      return text;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t === 'true') return true;
      if (t === 'false') return false;
      return text;
    }
    default:
      return text;
  }
}
