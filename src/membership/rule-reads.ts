// Which stored user paths a rule reads, so that a directory change is re-evaluated only against the groups it can
// affect. Paths are named as directory change events name them: 'email', 'status', 'fields.department',
// 'enrollments.DRV-101'; a memberOf condition reads 'memberOf.<group>'. Anything this does not recognise reads as
// "everything", never as "nothing".
import { eachLeaf, type RuleDocument } from '../rules/index.js';

const USER_PATHS = ['externalId', 'email', 'firstName', 'lastName', 'type', 'status', 'branch'];

/** A change's path meaning "anything may have changed": every group's decision is looked at again. */
export const EVERY_PATH = '*';

export interface RuleReads {
  paths: Set<string>;
  /** True when a path could not be placed: any change may affect the rule. */
  all: boolean;
}

export function ruleReads(rule: RuleDocument | undefined): RuleReads {
  const reads: RuleReads = { paths: new Set(), all: false };
  if (!rule || typeof rule !== 'object' || !rule.conditions) {
    reads.all = true;
    return reads;
  }
  eachLeaf(rule.conditions, { leaf: (node) => readLeaf(node, reads), unreadable: () => (reads.all = true) });
  return reads;
}

function readLeaf(leaf: { fact?: unknown; params?: Record<string, unknown>; path?: unknown }, reads: RuleReads): void {
  switch (leaf.fact) {
    case 'email':
      reads.paths.add('email');
      return;
    case 'user': {
      const key = typeof leaf.path === 'string' ? /^\$\.([A-Za-z]+)$/.exec(leaf.path)?.[1] : undefined;
      if (key && USER_PATHS.includes(key)) reads.paths.add(key);
      else for (const p of USER_PATHS) reads.paths.add(p);
      return;
    }
    case 'field':
      if (typeof leaf.params?.key === 'string') reads.paths.add(`fields.${leaf.params.key}`);
      else reads.all = true;
      return;
    case 'enrollment':
      if (typeof leaf.params?.course === 'string') reads.paths.add(`enrollments.${leaf.params.course}`);
      else reads.all = true;
      return;
    case 'memberOf':
      // Membership of another group is not a user path: the cascade (group-cascade.ts) re-evaluates the group when
      // that membership changes. Named as `memberOf.<group>` so that nothing reads it as "no reads".
      if (typeof leaf.params?.group === 'string') reads.paths.add(`memberOf.${leaf.params.group}`);
      else reads.all = true;
      return;
    default:
      reads.all = true;
  }
}

/** The field keys a rule reads (for "which groups use this field"). */
export function fieldKeysRead(rule: RuleDocument | undefined): string[] {
  const reads = ruleReads(rule);
  return [...reads.paths].filter((p) => p.startsWith('fields.')).map((p) => p.slice('fields.'.length));
}

/**
 * Whether a change to these paths can change the group's decision for a user: the rule reads one of them, or
 * the policy does (status decides eligibility; type decides keep-staff).
 */
export function changeAffects(
  reads: RuleReads,
  policy: { includeInactive: boolean; manualMembers: string },
  changed: readonly string[],
): boolean {
  if (reads.all) return true;
  for (const path of changed) {
    if (path === EVERY_PATH) return true;
    if (reads.paths.has(path)) return true;
    // 'enrollments.X.status' or a nested field path, should a publisher ever be more precise.
    const top = path.split('.').slice(0, 2).join('.');
    if (reads.paths.has(top)) return true;
    if (path === 'status' && !policy.includeInactive) return true;
    if (path === 'type' && policy.manualMembers === 'keep-staff') return true;
  }
  return false;
}
