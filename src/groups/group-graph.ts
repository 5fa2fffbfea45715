// The dependency graph of groups: group A references group B when A's rule has a `memberOf` condition naming B.
// From it: who references a group (its dependents, "used by"), an order in which every group comes after the
// groups it references (the cascade and the full sync evaluate in it), and the cycle a new rule would close.
// Groups are few (hundreds), so the graph is built from one read of every group's rule whenever it is needed; the
// search is a depth-first walk of a few dozen lines, which needs no graph library (none in the dependencies
// names the cycle as a path, which the error must show).
import { eachLeaf, type RuleDocument } from '../rules/index.js';
import { GroupModel, type GroupDoc } from './group.model.js';

/** One `memberOf` condition of a rule: the group it names and the condition's place (`conditions.all[0]`). */
export interface GroupReference {
  group: string;
  path: string;
}

/** The `memberOf` conditions of a rule, in document order (a rule that is not an object names none). */
export function referencesOf(rule: RuleDocument | undefined | unknown): GroupReference[] {
  const found: GroupReference[] = [];
  if (rule && typeof rule === 'object') {
    eachLeaf((rule as { conditions?: unknown }).conditions, {
      leaf(node, path) {
        const params = node.params as Record<string, unknown> | undefined;
        if (node.fact === 'memberOf' && params && typeof params.group === 'string') found.push({ group: params.group, path });
      },
    });
  }
  return found;
}

export interface GraphGroup {
  id: string;
  name: string;
  /** Groups this group's rule names (none for a manual or class group). */
  references: readonly string[];
}

export class GroupGraph {
  private readonly groups = new Map<string, GraphGroup>();
  private readonly referrers = new Map<string, string[]>();
  private orderCache: Map<string, number> | undefined;

  constructor(groups: Iterable<GraphGroup>) {
    for (const g of groups) this.groups.set(g.id, { ...g, references: [...new Set(g.references)] });
    for (const g of this.groups.values()) {
      for (const r of g.references) {
        const list = this.referrers.get(r);
        if (list) list.push(g.id);
        else this.referrers.set(r, [g.id]);
      }
    }
  }

  has(id: string): boolean {
    return this.groups.has(id);
  }

  name(id: string): string | undefined {
    return this.groups.get(id)?.name;
  }

  /** Every group's name by id (what rule validation checks a `memberOf` against). */
  names(): Map<string, string> {
    return new Map([...this.groups.values()].map((g) => [g.id, g.name]));
  }

  references(id: string): readonly string[] {
    return this.groups.get(id)?.references ?? [];
  }

  /** Groups whose rule names this one directly, by name. */
  usedBy(id: string): Array<{ id: string; name: string }> {
    return (this.referrers.get(id) ?? [])
      .map((g) => ({ id: g, name: this.groups.get(g)!.name }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Whether some group's rule names this one. */
  hasDependents(id: string): boolean {
    return (this.referrers.get(id)?.length ?? 0) > 0;
  }

  /**
   * Every group that names one of `ids`, directly or through other groups (not the seeds themselves unless one
   * names another), in dependency order: a group comes after every group it references.
   */
  dependentsOf(ids: Iterable<string>): string[] {
    const seen = new Set<string>();
    const stack = [...ids];
    while (stack.length) {
      for (const d of this.referrers.get(stack.pop()!) ?? []) {
        if (!seen.has(d)) {
          seen.add(d);
          stack.push(d);
        }
      }
    }
    return this.sorted(seen);
  }

  /** The groups' place in dependency order (0 first). Groups on a cycle (which saving refuses) come last. */
  rank(id: string): number {
    return this.order().get(id) ?? Number.MAX_SAFE_INTEGER;
  }

  /** `ids` in dependency order; ties in id order, so every process orders alike. */
  sorted(ids: Iterable<string>): string[] {
    return [...ids].sort((a, b) => this.rank(a) - this.rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  private order(): Map<string, number> {
    if (this.orderCache) return this.orderCache;
    // Kahn's algorithm over "references" edges: a group is placed once every group it names is.
    const waiting = new Map<string, number>();
    for (const g of this.groups.values()) waiting.set(g.id, g.references.filter((r) => this.groups.has(r)).length);
    const ready = [...waiting].filter(([, n]) => n === 0).map(([id]) => id).sort();
    const order = new Map<string, number>();
    while (ready.length) {
      const id = ready.shift()!;
      order.set(id, order.size);
      for (const d of (this.referrers.get(id) ?? []).slice().sort()) {
        const left = waiting.get(d)! - 1;
        waiting.set(d, left);
        if (left === 0) ready.push(d);
      }
    }
    this.orderCache = order;
    return order;
  }

  /**
   * The cycle that giving group `id` these references would close, as the groups along it from `id` back to `id`
   * (`[a, b, a]`), or null. A group naming itself is a cycle of one (`[a, a]`).
   */
  cycleThrough(id: string, references: readonly string[]): string[] | null {
    const refsOf = (g: string): readonly string[] => (g === id ? references : this.references(g));
    // Depth-first from `id`, remembering the path: the first way back to `id` is the cycle.
    const visited = new Set<string>();
    const path: string[] = [id];
    const visit = (g: string): boolean => {
      for (const r of refsOf(g)) {
        if (r === id) {
          path.push(r);
          return true;
        }
        if (visited.has(r)) continue;
        visited.add(r);
        path.push(r);
        if (visit(r)) return true;
        path.pop();
      }
      return false;
    };
    return visit(id) ? path : null;
  }
}

/** The graph of every group, from one read of their names and rules. */
export async function loadGroupGraph(): Promise<GroupGraph> {
  const docs = await GroupModel.find({}, { name: 1, type: 1, rule: 1 }).lean<Array<Pick<GroupDoc, '_id' | 'name' | 'type' | 'rule'>>>();
  return graphOf(docs);
}

export function graphOf(docs: ReadonlyArray<Pick<GroupDoc, '_id' | 'name' | 'type' | 'rule'>>): GroupGraph {
  return new GroupGraph(
    docs.map((d) => ({ id: d._id, name: d.name, references: d.type === 'automatic' ? referencesOf(d.rule).map((r) => r.group) : [] })),
  );
}

/** `grp_a → grp_b → grp_a`, as errors show a cycle. */
export const showCycle = (cycle: readonly string[]): string => cycle.join(' → ');

/**
 * The lease (withLocks) under which a rule naming groups is stored and a group is deleted: the graph is read and
 * checked again under it, so two rules saved at once by two processes cannot close a cycle between them, and a
 * group cannot be deleted while a rule naming it is being stored. Rules naming no group do not take it.
 */
export const GRAPH_LOCK = 'group-graph';

/** The cycle the rule would close as the rule of `groupId`, as an issue naming the condition that starts it. */
export function graphIssues(rule: unknown, groupId: string, graph: GroupGraph): Array<{ path: string; message: string }> {
  const refs = referencesOf(rule);
  const cycle = graph.cycleThrough(groupId, refs.map((r) => r.group));
  if (!cycle) return [];
  const start = refs.find((r) => r.group === cycle[1])!;
  const named = (id: string) => (graph.name(id) ? `${id} (${JSON.stringify(graph.name(id))})` : id);
  const message =
    cycle.length === 2
      ? `a group cannot name itself: ${showCycle(cycle)}`
      : `the groups would name each other in a cycle: ${showCycle(cycle)} (${cycle.slice(0, -1).map(named).join(', ')})`;
  return [{ path: `${start.path}.params.group`, message }];
}
