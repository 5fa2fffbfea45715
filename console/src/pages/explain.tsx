// Explain a user against a group's rule: found by name or email, member or not and why, each condition in words
// with the value the user had, the referenced group's own result under a "member of" condition (to any depth), and
// when the user's membership next changes by time alone.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get } from '../api.js';
import { asksForMembers, membershipWords, operatorWords } from '../rule-model.js';
import type { Explanation, ExplainNode, User } from '../types.js';
import { instantWords } from '../instants.js';
import { Problem, UserName, UserPicker, loadCatalogue, toApiError } from '../ui.js';
import type { Catalogue, Leaf } from '../types.js';
import { subjectOf } from '../RuleBuilder.js';

const shown = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'string' ? `“${v}”` : Array.isArray(v) ? v.map(shown).join(', ') : JSON.stringify(v));

/** Under a memberOf condition: the named group's own standing for the user (its rule explained, to any depth). */
type NestedExplanation = NonNullable<ExplainNode['group']>;

/** The rule's time-based conditions (in the last N days, more than N days ago): what a change by time alone flips. */
export function timeConditions(node: ExplainNode | null | undefined): ExplainNode[] {
  if (!node) return [];
  const kids = node.all ?? node.any ?? (node.not ? [node.not] : undefined);
  if (kids) return kids.flatMap(timeConditions);
  return /^(not:)?(withinLastDays|moreThanDaysAgo)$/.test(node.operator ?? '') ? [node] : [];
}

const leafOf = (node: ExplainNode): Leaf =>
  ({ fact: node.fact, operator: node.operator ?? '', value: node.value, ...(node.params ? { params: node.params } : {}), ...(node.path ? { path: node.path } : {}) }) as Leaf;

/**
 * When the user's result next changes by time alone, and the condition that flips then, in the server's words
 * ("Leaves on 2 Mar 2027, 10:14:00 GMT+1 (2027-03-02 09:14 UTC) when completed CERT-1 within the last 365 days no
 * longer holds"); for a rule that reads the clock but never flips for this user, that it does not.
 */
export function ChangesAt({ result }: { result: Explanation }) {
  if (result.changesAt) {
    return (
      <p data-testid="changes-at">
        <strong>{result.matches ? 'Leaves' : 'Joins'}</strong> on {instantWords(result.changesAt)}
        {result.changeReason && <> when {result.changeReason}</>}.
      </p>
    );
  }
  if (timeConditions(result.conditions).length === 0) return null;
  return <p data-testid="changes-at">No change by time ahead for this user: the result stays as it is until the user or the rule changes.</p>;
}

function ExplainTree({ node, catalogue }: { node: ExplainNode; catalogue: Catalogue | undefined }) {
  const mark = <span class={node.result ? 'yes' : 'no'}>{node.result ? '✔' : '✘'}</span>;
  const kids = node.all ?? node.any ?? (node.not ? [node.not] : undefined);
  if (kids) {
    return (
      <li>
        {mark} {node.all ? 'all of these' : node.any ? 'any of these' : 'not this'}
        <ul>
          {kids.map((k, i) => (
            <ExplainTree key={i} node={k} catalogue={catalogue} />
          ))}
        </ul>
      </li>
    );
  }
  const leaf = leafOf(node);
  if (leaf.fact === 'memberOf') {
    const nested = node.group;
    // The named group's name comes with its standing; without it (never expected), its id says which group.
    const name = nested ? `“${nested.name}”` : `the group ${leaf.params?.group ?? ''}`;
    return (
      <li data-testid="explain-member-of">
        {mark} {membershipWords(asksForMembers(leaf))} <strong>{name}</strong> — the user {node.factValue === true ? 'is a member' : 'is not a member'}
        {nested && <NestedGroup nested={nested} name={name} catalogue={catalogue} />}
      </li>
    );
  }
  const subject = catalogue ? subjectOf(leaf, catalogue) : `${node.fact ?? ''} ${node.path ?? ''}`;
  return (
    <li>
      {mark} {subject} {operatorWords(node.operator ?? '')} <strong>{shown(node.value)}</strong> — the user has <strong>{shown(node.factValue)}</strong>
    </li>
  );
}

/** The referenced group's result for the user, and why: its own rule's tree (to any depth) or how they were added. */
function NestedGroup({ nested, name, catalogue }: { nested: NestedExplanation; name: string; catalogue: Catalogue | undefined }) {
  return (
    <div class="nested-explain">
      <p>
        In {name}: <strong>{nested.member ? 'member' : 'not a member'}</strong>
        {nested.type === 'automatic' ? <>; its rule {nested.matches ? 'matches' : 'does not match'}</> : <> (a {nested.type} group: members are added by hand, key, copy or import)</>}
      </p>
      {nested.conditions && (
        <ul class="explain-tree">
          <ExplainTree node={nested.conditions} catalogue={catalogue} />
        </ul>
      )}
    </div>
  );
}

export function ExplainUser({ groupId, initial = '' }: { groupId: string; initial?: string }) {
  const [result, setResult] = useState<Explanation>();
  const [error, setError] = useState<ApiError>();
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const explain = async (externalId: string) => {
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await get<Explanation>(`/groups/${enc(groupId)}/explain/${enc(externalId)}`));
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
          <ChangesAt result={result} />
          {result.conditions && (
            <ul class="explain-tree">
              <ExplainTree node={result.conditions} catalogue={catalogue} />
            </ul>
          )}
        </div>
      )}
      <Problem error={error} />
    </section>
  );
}
