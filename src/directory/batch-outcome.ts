// The answer of a batch (users, enrolments, CSV import): counts, and every failed record by index with its
// errors (paths relative to the record). Shared so that every batch answers the same shape.
import type { FieldError } from '../platform/errors.js';

export interface BatchRecordError {
  index: number;
  externalId?: string;
  errors: FieldError[];
}

export interface BatchResult {
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: BatchRecordError[];
}

export class BatchOutcome {
  created = 0;
  updated = 0;
  unchanged = 0;
  private readonly failures = new Map<number, BatchRecordError>();

  fail(index: number, externalId: string | undefined, errors: FieldError[]): void {
    const known = this.failures.get(index);
    if (known) known.errors.push(...errors);
    else this.failures.set(index, { index, ...(externalId !== undefined ? { externalId } : {}), errors: [...errors] });
  }

  result(): BatchResult {
    const errors = [...this.failures.values()].sort((a, b) => a.index - b.index);
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
  const byKey = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = byKey.get(key);
    if (list) list.push(item);
    else byKey.set(key, [item]);
  }
  const kept: T[] = [];
  for (const list of byKey.values()) {
    if (list.length === 1) {
      kept.push(list[0]!);
      continue;
    }
    for (const item of list) {
      const others = list.filter((o) => o !== item).map((o) => o.index);
      outcome.fail(item.index, item.externalId, [
        { path, message: `${what} is also in record${others.length > 1 ? 's' : ''} ${others.join(', ')} of this batch; none of them was applied` },
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
