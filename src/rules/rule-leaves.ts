// The leaves of a rule's condition tree, walked once for everyone who asks what a stored rule names: which user
// paths it reads (membership/rule-reads.ts), which groups it references (groups/group-graph.ts). Stored rules were
// validated (at most MAX_DEPTH levels), but a walk of stored data must not trust that: a node it cannot place is
// reported, and the caller decides what that means ("reads everything", "names nothing").

/** Deeper than any valid rule (MAX_DEPTH is 20): past this, a node is reported as unreadable. */
const WALK_LIMIT = 64;

export interface LeafVisitor {
  /** A condition that is neither `all`, `any` nor `not`, with its place (`conditions.all[0]`). */
  leaf(node: Record<string, unknown>, path: string): void;
  /** A node that is not an object (or is nested past the limit): what it reads cannot be known. */
  unreadable?(path: string): void;
}

/** Visits the leaves of `conditions` in document order. */
export function eachLeaf(conditions: unknown, visitor: LeafVisitor, path = 'conditions'): void {
  walk(conditions, visitor, path, 0);
}

function walk(node: unknown, visitor: LeafVisitor, path: string, depth: number): void {
  if (depth > WALK_LIMIT || node === null || typeof node !== 'object') return visitor.unreadable?.(path);
  const n = node as Record<string, unknown>;
  if (Array.isArray(n.all)) return n.all.forEach((c, i) => walk(c, visitor, `${path}.all[${i}]`, depth + 1));
  if (Array.isArray(n.any)) return n.any.forEach((c, i) => walk(c, visitor, `${path}.any[${i}]`, depth + 1));
  if ('not' in n) return walk(n.not, visitor, `${path}.not`, depth + 1);
  visitor.leaf(n, path);
}
