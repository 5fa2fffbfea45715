// One group: its state and actions (pause, sync now with progress, held removals), the rule builder with live
// preview and a save guarded by If-Match, explain, members, exclusions and history.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, enc, get, query, send, type ProblemError } from '../api.js';
import { RuleBuilder } from '../RuleBuilder.js';
import type { Catalogue, Explanation, ExplainNode, Group, HistoryEntry, Member, Page, Preview, RuleDocument } from '../types.js';
import { Pager, Problem, ProgressBar, loadCatalogue, toApiError, useJob, useLoad, when } from '../ui.js';
import { syncLabel } from './groups.js';

export function GroupPage({ id, editable }: { id: string; editable: boolean }) {
  const group = useLoad(() => get<Group>(`/groups/${enc(id)}`), [id]);
  const [tab, setTab] = useState<'members' | 'exclusions' | 'history'>('members');
  const [explainId, setExplainId] = useState('');
  const g = group.data;
  if (group.error) return <Problem error={group.error} />;
  if (!g) return <p>Loading…</p>;
  return (
    <section>
      <p>
        <a href="#/groups">← Groups</a>
      </p>
      <h1>{g.name}</h1>
      {g.description && <p>{g.description}</p>}
      <GroupStatus group={g} editable={editable} onChanged={group.reload} />
      {g.type === 'automatic' && <RuleEditor group={g} editable={editable} onSaved={group.reload} />}
      <ExplainUser key={explainId} groupId={g.id} initial={explainId} />
      <div role="tablist" aria-label="Group details" class="tabs">
        {(['members', 'exclusions', 'history'] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t[0]!.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab === 'members' && <Members groupId={g.id} editable={editable} onChanged={group.reload} onExplain={(x) => (setExplainId(x), document.getElementById('explain')?.scrollIntoView())} />}
        {tab === 'exclusions' && <Exclusions groupId={g.id} editable={editable} />}
        {tab === 'history' && <History groupId={g.id} />}
      </div>
    </section>
  );
}

function GroupStatus({ group: g, editable, onChanged }: { group: Group; editable: boolean; onChanged(): void }) {
  const [jobId, setJobId] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [confirming, setConfirming] = useState(false);
  const job = useJob(jobId, onChanged);
  const act = async (fn: () => Promise<void>) => {
    setError(undefined);
    try {
      await fn();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const sync = (confirmRemovals: boolean) =>
    act(async () => {
      const { jobId: started } = await send<{ jobId: string }>('POST', `/groups/${enc(g.id)}/sync`, confirmRemovals ? { confirmRemovals: true } : undefined);
      setConfirming(false);
      setJobId(started);
    });
  return (
    <div class="card status">
      <dl class="facts">
        <dt>Type</dt>
        <dd>{g.type}</dd>
        <dt>Members</dt>
        <dd data-testid="member-count">{g.memberCount}</dd>
        {g.type === 'automatic' && (
          <>
            <dt>Sync</dt>
            <dd data-testid="sync-state">{syncLabel(g)}</dd>
            <dt>Last sync</dt>
            <dd>{when(g.sync?.lastSyncAt)}</dd>
            <dt>Last change</dt>
            <dd>{when(g.sync?.lastChangeAt)}</dd>
            <dt>Rule version</dt>
            <dd>{g.ruleVersion ?? '—'}</dd>
          </>
        )}
      </dl>
      {g.sync?.lastError && <p class="error">{g.sync.lastError}</p>}
      {editable && g.type === 'automatic' && (
        <div class="row">
          <button type="button" onClick={() => act(async () => (await send('PATCH', `/groups/${enc(g.id)}`, { paused: !g.paused }), onChanged()))}>
            {g.paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" disabled={g.paused} onClick={() => sync(false)}>
            Sync now
          </button>
          {!!g.sync?.heldRemovals && !confirming && (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>
              Review {g.sync.heldRemovals} held removals
            </button>
          )}
        </div>
      )}
      {confirming && (
        <div class="confirm" role="alertdialog" aria-label="Confirm held removals">
          <p>
            The safety valve held {g.sync?.heldRemovals} removals from this group. Removing them takes these users out of the group now.
          </p>
          <button type="button" class="danger" onClick={() => sync(true)}>
            Yes, remove {g.sync?.heldRemovals} users
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {job && <ProgressBar job={job} />}
      <Problem error={error} />
    </div>
  );
}

const PREVIEW_DELAY_MS = 400;

function RuleEditor({ group, editable, onSaved }: { group: Group; editable: boolean; onSaved(): void }) {
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const [base, setBase] = useState<{ rule: RuleDocument; etag: string }>();
  const [draft, setDraft] = useState<RuleDocument>();
  const [errors, setErrors] = useState<ProblemError[]>([]);
  const [preview, setPreview] = useState<Preview>();
  const [previewing, setPreviewing] = useState(false);
  const [message, setMessage] = useState<string>();
  const [conflict, setConflict] = useState(false);
  const [problem, setProblem] = useState<ApiError>();
  const seq = useRef(0);

  const loadRule = async () => {
    const res = await call<{ version: number; rule: RuleDocument }>(`/groups/${enc(group.id)}/rule`);
    setBase({ rule: res.body.rule, etag: res.etag ?? `"${res.body.version}"` });
    setDraft(res.body.rule);
    setErrors([]);
    setConflict(false);
  };
  useEffect(() => {
    loadCatalogue().then(setCatalogue, (e: unknown) => setProblem(toApiError(e)));
    loadRule().catch((e: unknown) => setProblem(toApiError(e)));
  }, [group.id]);

  // Live preview of the draft, debounced; only the newest answer is shown.
  useEffect(() => {
    if (!draft) return;
    const mine = ++seq.current;
    setPreviewing(true);
    const timer = setTimeout(async () => {
      try {
        const p = await send<Preview>('POST', `/groups/${enc(group.id)}/preview`, { rule: draft });
        if (mine !== seq.current) return;
        setPreview(p);
        setErrors([]);
      } catch (err) {
        if (mine !== seq.current) return;
        const e = toApiError(err);
        if (e.status === 400) setErrors(e.errors);
        else setProblem(e);
        setPreview(undefined);
      } finally {
        if (mine === seq.current) setPreviewing(false);
      }
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft && JSON.stringify(draft)]);

  if (!catalogue || !draft || !base) return problem ? <Problem error={problem} /> : <p>Loading the rule…</p>;
  const dirty = JSON.stringify(draft) !== JSON.stringify(base.rule);

  const save = async () => {
    setMessage(undefined);
    setProblem(undefined);
    try {
      const res = await call<Group>(`/groups/${enc(group.id)}/rule`, { method: 'PUT', body: { rule: draft }, headers: { 'If-Match': base.etag } });
      setBase({ rule: draft, etag: res.etag ?? base.etag });
      setErrors([]);
      setMessage(`Saved as version ${res.body.ruleVersion ?? ''}${group.paused ? ' (the group is paused: resume it to apply the rule)' : '; a sync is applying it'}.`);
      onSaved();
    } catch (err) {
      const e = toApiError(err);
      if (e.status === 412) setConflict(true);
      else if (e.status === 400) setErrors(e.errors);
      else setProblem(e);
    }
  };

  return (
    <section class="card rule-editor" aria-label="Rule">
      <h2>Rule</h2>
      <RuleBuilder rule={draft} catalogue={catalogue} errors={errors} readOnly={!editable} onChange={setDraft} />
      <div class="preview" aria-live="polite" data-testid="preview">
        <h3>Preview {previewing && <small>(updating…)</small>}</h3>
        {preview ? (
          <p>
            Would join: <strong data-testid="preview-add">{preview.toAdd}</strong> · would leave: <strong data-testid="preview-remove">{preview.toRemove}</strong>
            {preview.sampleAdd.length > 0 && <span class="samples"> · e.g. joining: {preview.sampleAdd.join(', ')}</span>}
            {preview.sampleRemove.length > 0 && <span class="samples"> · e.g. leaving: {preview.sampleRemove.join(', ')}</span>}
          </p>
        ) : (
          errors.length > 0 && <p class="error">Fix the rule's errors to see a preview.</p>
        )}
      </div>
      {conflict && (
        <div class="problem" role="alert" data-testid="conflict">
          <p>Someone else saved this rule since you opened it. Reload their version (your changes are dropped), or keep your draft and save it over theirs.</p>
          <button type="button" onClick={() => loadRule().catch((e: unknown) => setProblem(toApiError(e)))}>
            Reload the latest rule
          </button>
          <button
            type="button"
            onClick={async () => {
              const res = await call<{ version: number }>(`/groups/${enc(group.id)}/rule`);
              setBase((b) => b && { ...b, etag: res.etag ?? `"${res.body.version}"` });
              setConflict(false);
            }}
          >
            Keep my draft
          </button>
        </div>
      )}
      {editable && (
        <div class="row">
          <button type="button" class="primary" disabled={!dirty} onClick={save}>
            Save rule
          </button>
          <button type="button" disabled={!dirty} onClick={() => (setDraft(base.rule), setErrors([]))}>
            Discard changes
          </button>
        </div>
      )}
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      <Problem error={problem} />
    </section>
  );
}

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

const SOURCES = ['rule', 'manual', 'key', 'default', 'csv', 'copy', 'class'];

function Members({ groupId, editable, onChanged, onExplain }: { groupId: string; editable: boolean; onChanged(): void; onExplain(externalId: string): void }) {
  const [source, setSource] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const [who, setWho] = useState('');
  const [error, setError] = useState<ApiError>();
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => get<Page<Member>>(`/groups/${enc(groupId)}/members${query({ source, cursor, limit: 50 })}`), [groupId, source, cursor]);
  const change = async (method: 'PUT' | 'DELETE', externalId: string) => {
    setError(undefined);
    try {
      await send(method, `/groups/${enc(groupId)}/members/${enc(externalId)}`);
      setWho('');
      page.reload();
      onChanged();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <div>
      {editable && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void change('PUT', who.trim());
          }}
        >
          <label>
            Add a member by hand (externalId)
            <input required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Add member</button>
        </form>
      )}
      <Problem error={error} />
      <div class="row filters">
        <label>
          Source
          <select value={source} onChange={(e) => (setSource((e.target as HTMLSelectElement).value), setCursors([]))}>
            <option value="">any</option>
            {SOURCES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <a class="button" href={`/api/v1/groups/${enc(groupId)}/members.csv`} download>
          Export CSV
        </a>
      </div>
      <Problem error={page.error} />
      <div class="table-wrap">
      <table data-testid="members">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Source</th>
            <th scope="col">Added</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.items.map((m) => (
            <tr key={m.externalId}>
              <td>
                <a href={`#/users/${enc(m.externalId)}`}>{m.externalId}</a>{' '}
                <button type="button" class="link" onClick={() => onExplain(m.externalId)}>
                  Why is {m.externalId} here?
                </button>
              </td>
              <td>{m.source}</td>
              <td>
                {when(m.addedAt)}
                {editable && m.source !== 'rule' && (
                  <button type="button" class="link" onClick={() => change('DELETE', m.externalId)}>
                    Remove {m.externalId}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {page.data?.items.length === 0 && <p>No members{source ? ` from ${source}` : ''}.</p>}
      <Pager cursor={page.data?.nextCursor} atFirst={!cursors.length} onFirst={() => setCursors([])} onNext={(c) => setCursors([...cursors, c])} />
    </div>
  );
}

function Exclusions({ groupId, editable }: { groupId: string; editable: boolean }) {
  const list = useLoad(() => get<Page<{ externalId: string; at?: string; createdAt?: string; actor?: string }>>(`/groups/${enc(groupId)}/exclusions?limit=1000`), [groupId]);
  const [who, setWho] = useState('');
  const [error, setError] = useState<ApiError>();
  const change = async (method: 'PUT' | 'DELETE', externalId: string) => {
    setError(undefined);
    try {
      await send(method, `/groups/${enc(groupId)}/exclusions/${enc(externalId)}`);
      setWho('');
      list.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <div>
      <p class="hint">An excluded user is never a member, whatever the rule says.</p>
      {editable && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void change('PUT', who.trim());
          }}
        >
          <label>
            Exclude user (externalId)
            <input required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Exclude</button>
        </form>
      )}
      <Problem error={error ?? list.error} />
      <ul>
        {list.data?.items.map((x) => (
          <li key={x.externalId}>
            {x.externalId} {when(x.createdAt ?? x.at)}{' '}
            {editable && (
              <button type="button" class="link" onClick={() => change('DELETE', x.externalId)}>
                Remove exclusion of {x.externalId}
              </button>
            )}
          </li>
        ))}
      </ul>
      {list.data?.items.length === 0 && <p>No exclusions.</p>}
    </div>
  );
}

function History({ groupId }: { groupId: string }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => get<Page<HistoryEntry>>(`/groups/${enc(groupId)}/history${query({ cursor, limit: 50 })}`), [groupId, cursor]);
  return (
    <div>
      <Problem error={page.error} />
      <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">User</th>
            <th scope="col">Action</th>
            <th scope="col">Source</th>
            <th scope="col">Rule version</th>
            <th scope="col">Actor</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.items.map((h, i) => (
            <tr key={i}>
              <td>{when(h.at)}</td>
              <td>{h.externalId}</td>
              <td>{h.action}</td>
              <td>{h.source}</td>
              <td>{h.ruleVersion ?? ''}</td>
              <td>{h.actor ?? ''}</td>
              <td>{h.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <Pager cursor={page.data?.nextCursor} atFirst={!cursors.length} onFirst={() => setCursors([])} onNext={(c) => setCursors([...cursors, c])} />
    </div>
  );
}
