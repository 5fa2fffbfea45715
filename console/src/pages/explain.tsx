// Explain a user against a group's rule: member or not, and each condition with the value the user had.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get } from '../api.js';
import type { Explanation, ExplainNode } from '../types.js';
import { Problem, toApiError } from '../ui.js';

function ExplainTree({ node }: { node: ExplainNode }) {
  const mark = <span class={node.result ? 'yes' : 'no'}>{node.result ? '✔' : '✘'}</span>;
  const kids = node.all ?? node.any ?? (node.not ? [node.not] : undefined);
  if (kids) {
    return (
      <li>
        {mark} {node.all ? 'all of' : node.any ? 'any of' : 'not'}
        <ul>
          {kids.map((k, i) => (
            <ExplainTree key={i} node={k} />
          ))}
        </ul>
      </li>
    );
  }
  const params = node.params ? ` ${Object.values(node.params).join(' ')}` : '';
  return (
    <li>
      {mark} <code>{`${node.fact}${params}${node.path ? ` ${node.path}` : ''}`}</code> {node.operator} <code>{JSON.stringify(node.value)}</code> — the user has{' '}
      <code>{node.factValue === undefined ? 'nothing' : JSON.stringify(node.factValue)}</code>
    </li>
  );
}

export function ExplainUser({ groupId, initial = '' }: { groupId: string; initial?: string }) {
  const [who, setWho] = useState(initial);
  const [result, setResult] = useState<Explanation>();
  const [error, setError] = useState<ApiError>();
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
    if (initial) void explain(initial);
  }, [groupId, initial]);
  return (
    <section class="card explain" id="explain" aria-label="Explain a user">
      <h2>Explain a user</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void explain(who.trim());
        }}
      >
        <label>
          User id (externalId)
          <input name="externalId" required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Explain</button>
      </form>
      {result && (
        <div data-testid="explanation">
          <p>
            <strong>{result.member ? 'Member' : 'Not a member'}</strong>; the rule {result.matches ? 'matches' : 'does not match'}.
          </p>
          {result.conditions && (
            <ul class="explain-tree">
              <ExplainTree node={result.conditions} />
            </ul>
          )}
        </div>
      )}
      <Problem error={error} />
    </section>
  );
}

