// Explain a user against a group's rule: found by name or email, member or not and why, each condition in words
// with the value the user had, the referenced group's own result under a "member of" condition (to any depth), and
// when the user's membership next changes by time alone.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get } from '../api.js';
import { groupName, useGroupRefs } from '../group-refs.js';
import { asksForMembers, membershipWords, operatorWords } from '../rule-model.js';
import type { Explanation, ExplainNode, GroupRef, User } from '../types.js';
import { Problem, UserName, UserPicker, instantWords, loadCatalogue, toApiError } from '../ui.js';
import type { Catalogue, Leaf } from '../types.js';
import { subjectOf } from '../RuleBuilder.js';

const shown = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'string' ? `“${v}”` : Array.isArray(v) ? v.map(shown).join(', ') : JSON.stringify(v));

/**
 * The referenced group's own explanation for the user, under a "member of" condition: whether the user is a member
 * there and why (its rule's conditions, themselves possibly naming further groups).
 */
export interface NestedExplanation {
  id?: string;
  name?: string;
  member?: boolean;
  matches?: boolean;
  source?: string;
  reason?: string;
  conditions?: ExplainNodeView | null;
}
export type ExplainNodeView = Omit<ExplainNode, 'all' | 'any' | 'not'> & {
  all?: ExplainNodeView[];
  any?: ExplainNodeView[];
  not?: ExplainNodeView;
  /** Under a memberOf condition: the referenced group's explanation (absent from a service that does not send it). */
  group?: NestedExplanation;
};
/** Explain's answer with the fields of issue 20 read as optional: when the user's result next changes by time alone. */
export type ExplanationView = Omit<Explanation, 'conditions'> & {
  conditions: ExplainNodeView | null;
  changesAt?: string | null;
  /** The condition that flips then, in words, when the service says (else the page names the time-based ones). */
  changesWhen?: string;
};

/** The rule's time-based conditions (in the last N days, more than N days ago): what a change by time alone flips. */
export function timeConditions(node: ExplainNodeView | null | undefined): ExplainNodeView[] {
  if (!node) return [];
  const kids = node.all ?? node.any ?? (node.not ? [node.not] : undefined);
  if (kids) return kids.flatMap(timeConditions);
  return /^(not:)?(withinLastDays|moreThanDaysAgo)$/.test(node.operator ?? '') ? [node] : [];
}

const leafOf = (node: ExplainNodeView): Leaf =>
  ({ fact: node.fact, operator: node.operator ?? '', value: node.value, ...(node.params ? { params: node.params } : {}), ...(node.path ? { path: node.path } : {}) }) as Leaf;

/** A condition in words: "Hire date is in the last N days 90". */
function conditionWords(node: ExplainNodeView, catalogue: Catalogue | undefined, groups: GroupRef[] | undefined): string {
  const leaf = leafOf(node);
  const subject = catalogue ? subjectOf(leaf, catalogue, groups) : `${node.fact ?? ''} ${node.path ?? ''}`;
  return `${subject} ${operatorWords(node.operator ?? '')} ${shown(node.value)}`;
}

/** "Leaves on 2 Mar 2027, 10:14 GMT+1 (2027-03-02 09:14 UTC) when …", or that nothing changes by time. */
export function ChangesAt({ result, catalogue, groups }: { result: ExplanationView; catalogue: Catalogue | undefined; groups: GroupRef[] | undefined }) {
  if (!('changesAt' in result) || !result.conditions) return null;
  if (!result.changesAt) return <p data-testid="changes-at">No change by time ahead: the result stays as it is until the user or the rule changes.</p>;
  const timed = timeConditions(result.conditions);
  const when = result.changesWhen ?? (timed.length ? timed.map((n) => `“${conditionWords(n, catalogue, groups)}” ${n.result ? 'no longer holds' : 'holds'}`).join(' or ') : undefined);
  return (
    <p data-testid="changes-at">
      <strong>{result.matches ? 'Leaves' : 'Joins'}</strong> on {instantWords(result.changesAt)}
      {when && <> when {when}</>}.
    </p>
  );
}

function ExplainTree({ node, catalogue, groups }: { node: ExplainNodeView; catalogue: Catalogue | undefined; groups: GroupRef[] | undefined }) {
  const mark = <span class={node.result ? 'yes' : 'no'}>{node.result ? '✔' : '✘'}</span>;
  const kids = node.all ?? node.any ?? (node.not ? [node.not] : undefined);
  if (kids) {
    return (
      <li>
        {mark} {node.all ? 'all of these' : node.any ? 'any of these' : 'not this'}
        <ul>
          {kids.map((k, i) => (
            <ExplainTree key={i} node={k} catalogue={catalogue} groups={groups} />
          ))}
        </ul>
      </li>
    );
  }
  const leaf = leafOf(node);
  if (leaf.fact === 'memberOf') {
    const nested = node.group;
    const name = nested?.name ? `“${nested.name}”` : groupName(groups, leaf.params?.group);
    return (
      <li data-testid="explain-member-of">
        {mark} {membershipWords(asksForMembers(leaf))} <strong>{name}</strong> — the user {node.factValue === true ? 'is a member' : 'is not a member'}
        {nested && <NestedGroup nested={nested} name={name} catalogue={catalogue} groups={groups} />}
      </li>
    );
  }
  const subject = catalogue ? subjectOf(leaf, catalogue, groups) : `${node.fact ?? ''} ${node.path ?? ''}`;
  return (
    <li>
      {mark} {subject} {operatorWords(node.operator ?? '')} <strong>{shown(node.value)}</strong> — the user has <strong>{shown(node.factValue)}</strong>
    </li>
  );
}

/** The referenced group's result for the user, and why: its own rule's tree (to any depth) or how they were added. */
function NestedGroup({ nested, name, catalogue, groups }: { nested: NestedExplanation; name: string; catalogue: Catalogue | undefined; groups: GroupRef[] | undefined }) {
  return (
    <div class="nested-explain">
      <p>
        In {name}: <strong>{nested.member ? 'member' : 'not a member'}</strong>
        {nested.source && nested.source !== 'rule' && <> (added {nested.source === 'manual' ? 'by hand' : `by ${nested.source}`})</>}
        {nested.conditions && <>; its rule {nested.matches ? 'matches' : 'does not match'}</>}
        {nested.reason && <> — {nested.reason}</>}
      </p>
      {nested.conditions && (
        <ul class="explain-tree">
          <ExplainTree node={nested.conditions} catalogue={catalogue} groups={groups} />
        </ul>
      )}
    </div>
  );
}

export function ExplainUser({ groupId, initial = '' }: { groupId: string; initial?: string }) {
  const [result, setResult] = useState<ExplanationView>();
  const { groups } = useGroupRefs();
  const [error, setError] = useState<ApiError>();
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const explain = async (externalId: string) => {
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await get<ExplanationView>(`/groups/${enc(groupId)}/explain/${enc(externalId)}`));
    } catch (err) {
      setError(toApiError(err));
    }
  };
  useEffect(() => {
    loadCatalogue().then(setCatalogue, () => undefined);
    if (initial) void explain(initial);
  }, [groupId, initial]);
  return (
    <section class="card explain" id="explain" aria-label="Explain a user">
      <h2>Explain a user</h2>
      <UserPicker
        label="Why is this user in the group, or not?"
        button="Explain"
        onPick={async (u: User) => {
          await explain(u.externalId);
          return true;
        }}
      />
      {result && (
        <div data-testid="explanation">
          <p>
            {result.user && <UserName id={result.user.externalId} user={result.user} />}: <strong>{result.member ? 'Member' : 'Not a member'}</strong>; the rule{' '}
            {result.matches ? 'matches' : 'does not match'}.
          </p>
          {result.reason && <p class="hint">{result.reason}</p>}
          <ChangesAt result={result} catalogue={catalogue} groups={groups} />
          {result.conditions && (
            <ul class="explain-tree">
              <ExplainTree node={result.conditions} catalogue={catalogue} groups={groups} />
            </ul>
          )}
        </div>
      )}
      <Problem error={error} />
    </section>
  );
}
