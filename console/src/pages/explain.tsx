// Explain a user against a group's rule: found by name or email, member or not and why, and each condition in
// words with the value the user had.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get } from '../api.js';
import { operatorWords } from '../rule-model.js';
import type { Explanation, ExplainNode, User } from '../types.js';
import { Problem, UserName, UserPicker, loadCatalogue, toApiError } from '../ui.js';
import type { Catalogue, Leaf } from '../types.js';
import { subjectOf } from '../RuleBuilder.js';

const shown = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'string' ? `“${v}”` : Array.isArray(v) ? v.map(shown).join(', ') : JSON.stringify(v));

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
  const leaf = { fact: node.fact, operator: node.operator ?? '', value: node.value, ...(node.params ? { params: node.params } : {}), ...(node.path ? { path: node.path } : {}) } as Leaf;
  const subject = catalogue ? subjectOf(leaf, catalogue) : `${node.fact ?? ''} ${node.path ?? ''}`;
  return (
    <li>
      {mark} {subject} {operatorWords(node.operator ?? '')} <strong>{shown(node.value)}</strong> — the user has <strong>{shown(node.factValue)}</strong>
    </li>
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
