// Reading an uploaded CSV into rows, each with the line of the file where it starts (header = 1): the number a
// person finds in an editor or a spreadsheet, for the errors of CSV imports (API.md).
//
// csv-parse's own `info.lines` is not that number: it is the line where a record ends, and it counts the CR and the
// LF of a CRLF inside a quoted value as two lines, so every row after such a value in a Windows file would be
// misnumbered. The parser's byte offsets (`info.bytes`, the end of each record) are exact; the line where a record
// ends is counted from them (CRLF, LF or a lone CR each end one line), and the line breaks inside its quoted values
// (the only way a record spans lines) are taken off.
import { parse } from 'csv-parse/sync';
import { ValidationError } from './errors.js';

interface CsvRow {
  cells: string[];
  /** The line of the file where this row starts, the first line being 1. */
  line: number;
}

const CR = 0x0d;
const LF = 0x0a;

/** Line breaks in a value: CRLF, LF and lone CR each count once. */
function breaksIn(value: string): number {
  return value.match(/\r\n|\r|\n/g)?.length ?? 0;
}

/** Parses the CSV (BOM, CRLF or LF, quoted values, blank lines skipped, cells trimmed). Broken CSV: a 400. */
export function parseCsvRows(text: string): CsvRow[] {
  const source = text.replace(/^\uFEFF/, '');
  let parsed: Array<{ record: string[]; info: { bytes: number } }>;
  try {
    parsed = parse(source, { relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as typeof parsed;
  } catch (err) {
    const e = err as { message?: string; lines?: number };
    throw new ValidationError('The CSV has 1 problem.', [
      { path: 'body', message: `is not valid CSV${e.lines ? ` (line ${e.lines})` : ''}: ${e.message ?? 'unreadable'}` },
    ]);
  }
  const bytes = Buffer.from(source, 'utf8');
  let at = 0; // bytes before `at` are counted
  let line = 1; // the line `at` is on
  return parsed.map(({ record, info }) => {
    // The record's content ends before its terminator (the last record may have none).
    let end = info.bytes;
    if (end > at && bytes[end - 1] === LF) end--;
    if (end > at && bytes[end - 1] === CR) end--;
    for (; at < end; at++) {
      if (bytes[at] === LF || (bytes[at] === CR && bytes[at + 1] !== LF)) line++;
    }
    const row = { cells: record, line: line - record.reduce((n, cell) => n + breaksIn(cell), 0) };
    // Step over the terminator: the next record starts on a new line.
    if (bytes[at] === CR) at++;
    if (bytes[at] === LF) at++;
    if (at > end) line++;
    return row;
  });
}
