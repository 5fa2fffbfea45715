// Explain for groups of groups: a `memberOf` condition shows the named group's own standing for the user (member or
// not) and, for an automatic group, its own rule's explanation, whose `memberOf` conditions show theirs in turn, to
// any depth. Every rule reads the user's stored memberships, as the evaluation does outside a pass.
import { explainRule, type ExplainNode, type UserFacts } from '../rules/index.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import { memberships } from './membership-store.js';

/** Saved graphs are acyclic; this bounds a walk over one that a write bypassing the checks could have left. */
const MAX_DEPTH = 32;

/** The user's facts with their stored memberships as the `memberOf` lookup. */
export async function withMemberships(facts: UserFacts): Promise<UserFacts> {
  const groups = new Set<string>();
  for await (const m of memberships().find({ externalId: facts.externalId }, { projection: { group: 1 } })) groups.add(m.group);
  return { ...facts, memberOf: (g) => groups.has(g) };
}

/** Adds `group` to every `memberOf` leaf of the explanation, recursively. */
export async function explainNamedGroups(node: ExplainNode, facts: UserFacts, now: Date, depth = 0): Promise<void> {
  if ('all' in node) return void (await Promise.all(node.all.map((c) => explainNamedGroups(c, facts, now, depth))));
  if ('any' in node) return void (await Promise.all(node.any.map((c) => explainNamedGroups(c, facts, now, depth))));
  if ('not' in node) return explainNamedGroups(node.not, facts, now, depth);
  if (node.fact !== 'memberOf' || depth >= MAX_DEPTH) return;
  const id = String(node.params?.group);
  const doc = await GroupModel.findById(id, { name: 1, type: 1, rule: 1 }).lean<Pick<GroupDoc, '_id' | 'name' | 'type' | 'rule'>>();
  if (!doc) return;
  const member = facts.memberOf?.(id) === true;
  if (doc.type !== 'automatic' || !doc.rule) {
    node.group = { id, name: doc.name, type: doc.type, member };
    return;
  }
  const own = await explainRule(doc.rule, facts, now);
  await explainNamedGroups(own.conditions, facts, now, depth + 1);
  node.group = { id, name: doc.name, type: doc.type, member, matches: own.matches, conditions: own.conditions };
}
