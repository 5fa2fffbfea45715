// The answer of a batch (users, enrolments, CSV import): counts, and every failed record with its errors (paths
// relative to the record). Shared so that every batch answers the same shape. A JSON batch names a record by its
// index in the array; a CSV import by the line of the file where its row starts (header = 1), which is what a
// person can find in the file: rows spanning lines (quoted line breaks) and skipped blank lines make the two differ.
import type { FieldError } from '../platform/errors.js';
import { groupBy } from '../platform/group-by.js';

type BatchRecordError = ({ index: number } | { line: number }) & {
  externalId?: string;
  errors: FieldError[];
};

export interface BatchResult {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: BatchRecordError[];
}

interface Failure {
  externalId?: string;
  errors: FieldError[];
}

export class BatchOutcome {
  created = 0;
  updated = 0;
  unchanged = 0;
  private readonly failures = new Map<number, Failure>();

  /** `lines`: for a CSV, the line where each record's row starts; records are then named by line, not index. */
  constructor(private readonly lines?: readonly number[]) {}

  fail(index: number, externalId: string | undefined, errors: FieldError[]): void {
    const known = this.failures.get(index);
    if (known) known.errors.push(...errors);
    else this.failures.set(index, { ...(externalId !== undefined ? { externalId } : {}), errors: [...errors] });
  }

  /** Other records named in a message: "records 3, 5 of this batch", or "lines 4, 6 of this CSV". */
  describe(indexes: readonly number[]): string {
    const plural = indexes.length > 1 ? 's' : '';
    if (!this.lines) return `record${plural} ${indexes.join(', ')} of this batch`;
    return `line${plural} ${indexes.map((i) => this.lines![i]).join(', ')} of this CSV`;
  }

  private position(index: number): { index: number } | { line: number } {
    return this.lines ? { line: this.lines[index]! } : { index };
  }

  result(): BatchResult {
    const errors = [...this.failures.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, failure]): BatchRecordError => ({ ...this.position(index), ...failure }));
    return { created: this.created, updated: this.updated, unchanged: this.unchanged, failed: errors.length, errors };
  }
}

/**
 * Records of one batch that share a key (an externalId, an email, a course and user pair) are ambiguous: which
 * one is right cannot be told, and applying them in order would make the answer depend on the order. All of
 * them fail, naming the others; the rest are returned.
 */
export function rejectDuplicates<T extends { index: number; externalId?: string }>(
  items: T[],
  keyOf: (item: T) => string,
  path: string,
  what: string,
  outcome: BatchOutcome,
): T[] {
  const byKey = groupBy(items, keyOf);
  const kept: T[] = [];
  for (const list of byKey.values()) {
    if (list.length === 1) {
      kept.push(list[0]!);
      continue;
    }
    for (const item of list) {
      const others = list.filter((o) => o !== item).map((o) => o.index);
      outcome.fail(item.index, item.externalId, [
        { path, message: `${what} is also in ${outcome.describe(others)}; none of them was applied` },
      ]);
    }
  }
  return kept.sort((a, b) => a.index - b.index);
}

/**
 * The operations of an unordered bulk write that failed on a unique index (both backends report unordered
 * insert failures per operation). Undefined when the error is anything else: the caller rethrows it.
 */
export function duplicateKeyIndexes(err: unknown): number[] | undefined {
  const raw = (err as { writeErrors?: unknown }).writeErrors;
  if (raw === undefined) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]) as Array<{ index?: unknown; code?: unknown }>;
  if (list.length === 0 || list.some((w) => typeof w.index !== 'number' || w.code !== 11000)) return undefined;
  return list.map((w) => w.index as number);
}
