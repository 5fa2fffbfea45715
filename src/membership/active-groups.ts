// Automatic groups as the evaluator needs them: policy, compiled rule and what the rule reads. Compiled rules are
// cached by group and rule version (a rule version never changes), so a directory change compiles nothing.
import { compileRule, type CompiledRule, type RuleDocument } from '../rules/index.js';
import { nextChangeFinder, type NextChangeFinder } from '../rules/next-change.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import type { GroupPolicy } from './policy.js';
import { ruleReads, type RuleReads } from './rule-reads.js';
import { readDefaultGroupId } from '../groups/default-group.js';
import { graphOf, type GroupGraph } from '../groups/group-graph.js';

export interface EvalGroup extends GroupPolicy {
  id: string;
  name: string;
  paused: boolean;
  /** Null when the rule does not compile; `compileError` says why. */
  compiled: CompiledRule | null;
  compileError?: string;
  reads: RuleReads;
  /** The next change of a user's result by time alone; null or absent when the rule does not read the clock. */
  nextChange?: NextChangeFinder | null;
}

const MAX_CACHED = 2000;
interface CompiledEntry {
  compiled: CompiledRule | null;
  error?: string;
  reads: RuleReads;
  nextChange: NextChangeFinder | null;
}
const compiledCache = new Map<string, CompiledEntry>();

function compileCached(key: string | null, rule: RuleDocument | undefined): CompiledEntry {
  const hit = key ? compiledCache.get(key) : undefined;
  if (hit) return hit;
  let entry: CompiledEntry;
  try {
    if (!rule) throw new Error('the group has no rule');
    const compiled = compileRule(rule);
    entry = { compiled, reads: ruleReads(rule), nextChange: compiled.uses.timeDependent ? nextChangeFinder(rule) : null };
  } catch (err) {
    entry = { compiled: null, error: `the rule cannot be evaluated: ${err instanceof Error ? err.message : String(err)}`, reads: ruleReads(rule), nextChange: null };
  }
  if (key) {
    if (compiledCache.size >= MAX_CACHED) compiledCache.clear();
    compiledCache.set(key, entry);
  }
  return entry;
}

/** The evaluator's view of a group; `rule` replaces the stored rule (preview of a proposed rule). */
export function toEvalGroup(doc: GroupDoc, rule?: RuleDocument): EvalGroup {
  const entry = rule ? compileCached(null, rule) : compileCached(`${doc._id}:${doc.ruleVersion}`, doc.rule);
  return {
    id: doc._id,
    name: doc.name,
    paused: doc.paused,
    ruleVersion: doc.ruleVersion,
    includeInactive: doc.includeInactive,
    manualMembers: doc.manualMembers,
    compiled: entry.compiled,
    ...(entry.error ? { compileError: entry.error } : {}),
    reads: entry.reads,
    nextChange: entry.nextChange,
  };
}

/** Automatic groups that syncs and changes move: all but paused ones. Read fresh each time (a small collection). */
export async function loadActiveAutomaticGroups(): Promise<EvalGroup[]> {
  return (await loadGroups()).active;
}

/** Every group's rule version, alone (what a reaction compares with the versions it evaluated: see on-change.ts). */
export async function readRuleVersions(): Promise<Map<string, number>> {
  const docs = await GroupModel.find({}, { ruleVersion: 1 }).lean<Array<Pick<GroupDoc, '_id' | 'ruleVersion'>>>();
  return new Map(docs.map((d) => [d._id, d.ruleVersion ?? 0]));
}

/** The default group as a new user's reaction needs it (see on-change.ts). */
export type DefaultGroup = Pick<GroupDoc, '_id' | 'type' | 'paused' | 'includeInactive'>;

/**
 * Every group's rule version (a deleted user leaves every group), the active automatic groups, the default
 * group (absent when none is set, or the one named no longer exists), and the groups' dependency graph, in one read.
 */
export async function loadGroups(): Promise<{ versions: Map<string, number>; active: EvalGroup[]; defaultGroup?: DefaultGroup; graph: GroupGraph }> {
  const [docs, defaultId] = await Promise.all([GroupModel.find({}).lean<GroupDoc[]>(), readDefaultGroupId()]);
  const defaultGroup = docs.find((d) => d._id === defaultId);
  return {
    versions: new Map(docs.map((d) => [d._id, d.ruleVersion ?? 0])),
    active: docs.filter((d) => d.type === 'automatic' && !d.paused).map((d) => toEvalGroup(d)),
    graph: graphOf(docs),
    ...(defaultGroup ? { defaultGroup } : {}),
  };
}
