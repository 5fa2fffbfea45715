// POST /users/import: a CSV of whole users turned into the records of a user batch. The header names the
// columns: the standard ones (externalId, email, firstName, lastName, type, status, branch) and `fields.<key>`
// for additional fields; quoted values, UTF-8 with or without a BOM, CRLF or LF. An empty cell is "no value".
// Cells of number and boolean fields are converted by the field's type (a cell that does not convert is
// reported with the type's message). Problems of the file as a whole (a header naming an unknown column, a
// missing required column, broken quoting) are a 400; a row with the wrong number of values is reported as
// that row's error. Rows are named by the line where they start (header = 1; see platform/csv.ts).
import { parseCsvRows } from '../platform/csv.js';
import { PayloadTooLargeError, ValidationError, type FieldError } from '../platform/errors.js';
import { fieldValueFromText, type FieldDefinitions } from './user-values.js';
import { MAX_BATCH_RECORDS } from './identifiers.js';
import type { RejectedRecord } from './user-batch.service.js';

export const STANDARD_COLUMNS = ['externalId', 'email', 'firstName', 'lastName', 'type', 'status', 'branch'] as const;
const REQUIRED_COLUMNS = ['externalId', 'email', 'firstName', 'lastName', 'type'] as const;

interface ParsedCsv {
  records: unknown[];
  /** Records refused before validation, by index in `records`. */
  rejected: Map<number, RejectedRecord>;
  /** The line of the file where each record's row starts (header = 1), by index in `records`. */
  lines: number[];
}

type Column = { kind: 'standard'; name: string } | { kind: 'field'; key: string };

function invalid(errors: FieldError[]): ValidationError {
  return new ValidationError(`The CSV has ${errors.length} problem${errors.length > 1 ? 's' : ''}.`, errors);
}

function readHeader(header: string[], defs: FieldDefinitions): Column[] {
  const errors: FieldError[] = [];
  const columns: Column[] = [];
  const seen = new Set<string>();
  header.forEach((name) => {
    if (seen.has(name)) errors.push({ path: name || 'header', message: 'is a column named twice' });
    seen.add(name);
    if ((STANDARD_COLUMNS as readonly string[]).includes(name)) {
      columns.push({ kind: 'standard', name });
    } else if (name.startsWith('fields.') && defs.has(name.slice('fields.'.length))) {
      columns.push({ kind: 'field', key: name.slice('fields.'.length) });
    } else if (name.startsWith('fields.')) {
      errors.push({ path: name, message: 'is not a defined field' });
    } else {
      errors.push({
        path: name || 'header',
        message: `is not a column this import knows (standard columns: ${STANDARD_COLUMNS.join(', ')}; additional fields as fields.<key>)`,
      });
    }
  });
  for (const required of REQUIRED_COLUMNS) {
    if (!seen.has(required)) errors.push({ path: required, message: 'is a required column and is missing from the header' });
  }
  if (errors.length) throw invalid(errors);
  return columns;
}

export function parseUsersCsv(text: string, defs: FieldDefinitions): ParsedCsv {
  const rows = parseCsvRows(text);
  if (rows.length === 0) throw invalid([{ path: 'body', message: 'is empty: send a header row and one row per user' }]);
  const [header, ...data] = rows;
  if (data.length > MAX_BATCH_RECORDS) {
    throw new PayloadTooLargeError(`The CSV has ${data.length} rows; at most ${MAX_BATCH_RECORDS} are taken at once.`);
  }
  const columns = readHeader(header!.cells, defs);
  const idColumn = columns.findIndex((c) => c.kind === 'standard' && c.name === 'externalId');

  const records: unknown[] = [];
  const rejected = new Map<number, RejectedRecord>();
  const lines = data.map((row) => row.line);
  data.forEach(({ cells }, index) => {
    if (cells.length !== columns.length) {
      const id = cells[idColumn];
      rejected.set(index, {
        ...(id ? { externalId: id } : {}),
        errors: [{ path: 'row', message: `has ${cells.length} value${cells.length === 1 ? '' : 's'}; the header has ${columns.length}` }],
      });
      records.push(null);
      return;
    }
    const user: Record<string, unknown> = {};
    const fields: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      const cell = cells[i]!;
      if (cell === '') return;
      if (column.kind === 'standard') user[column.name] = cell;
      else fields[column.key] = fieldValueFromText(defs.get(column.key)!, cell);
    });
    user.fields = fields;
    records.push(user);
  });
  return { records, rejected, lines };
}
