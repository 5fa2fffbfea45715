/**
 * A unique-index violation. MongoDB answers code 11000 (with the key in the message); FerretDB v1 answers 11000
 * for inserts (without naming the key) but, for updates, code 1 with PostgreSQL's own message:
 * "duplicate key value violates unique constraint \"<table>_<index>_idx\" (SQLSTATE 23505)".
 */
export function isDuplicateKeyError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : '';
  return e?.code === 11000 || message.includes('E11000') || message.includes('(SQLSTATE 23505)');
}
