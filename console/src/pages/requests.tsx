// Support requests: the queue by status, a request with its timeline, its draft rule in the builder, and the one
// flow that creates the group from it and marks the request done with the group's link.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get, query, send, type ProblemError } from '../api.js';
import { RuleBuilder } from '../RuleBuilder.js';
import type { Catalogue, Group, Page, RuleDocument, SupportRequest } from '../types.js';
import { Problem, loadCatalogue, toApiError, useLoad, when } from '../ui.js';

const STATUSES = ['open', 'in_progress', 'done', 'rejected'] as const;

export function RequestsPage({ editable }: { editable: boolean }) {
  const [status, setStatus] = useState<string>('open');
  const list = useLoad(() => get<Page<SupportRequest>>(`/requests${query({ status, limit: 200 })}`), [status]);
  return (
    <section>
      <h1>Support requests</h1>
      <div role="group" aria-label="Status" class="tabs">
        {[...STATUSES, ''].map((s) => (
          <button key={s} type="button" aria-pressed={status === s} onClick={() => setStatus(s)}>
            {s ? s.replace('_', ' ') : 'all'}
          </button>
        ))}
      </div>
      <Problem error={list.error} />
      <ul class="request-list">
        {list.data?.items.map((r) => (
          <li key={r.id}>
            <a href={`#/requests/${enc(r.id)}`}>{r.title}</a> <span class={`state state-${r.status}`}>{r.status}</span> — {r.requestedBy}, {when(r.createdAt)}
            {r.draftRuleErrors?.length ? <span class="badge">draft rule has errors</span> : null}
          </li>
        ))}
      </ul>
      {list.data?.items.length === 0 && <p>No requests{status ? ` ${status.replace('_', ' ')}` : ''}.</p>}
      {editable && <NewRequest onCreated={(r) => (location.hash = `#/requests/${enc(r.id)}`)} />}
    </section>
  );
}

function NewRequest({ onCreated }: { onCreated(r: SupportRequest): void }) {
  const [form, setForm] = useState({ title: '', description: '', requestedBy: '' });
  const [error, setError] = useState<ApiError>();
  const field = (name: keyof typeof form, label: string) => (
    <label>
      {label}
      <input name={name} required value={form[name]} onInput={(e) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value })} />
    </label>
  );
  return (
    <form
      class="card"
      aria-label="New request"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          onCreated(await send<SupportRequest>('POST', '/requests', form));
        } catch (err) {
          setError(toApiError(err));
        }
      }}
    >
      <h2>New request</h2>
      {field('title', 'Title')}
      {field('description', 'Description')}
      {field('requestedBy', 'Requested by')}
      <button type="submit">Add request</button>
      <Problem error={error} />
    </form>
  );
}

const EMPTY_RULE: RuleDocument = { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } };

export function RequestPage({ id, editable }: { id: string; editable: boolean }) {
  const req = useLoad(() => get<SupportRequest>(`/requests/${enc(id)}`), [id]);
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const [draft, setDraft] = useState<RuleDocument>();
  const [errors, setErrors] = useState<ProblemError[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<ApiError>();
  const r = req.data;
  useEffect(() => {
    loadCatalogue().then(setCatalogue, (e: unknown) => setError(toApiError(e)));
  }, []);
  useEffect(() => {
    if (!r) return;
    setDraft((d) => d ?? r.draftRule ?? EMPTY_RULE);
    setName((n) => n || r.title);
    if (r.draftRuleErrors && !errors.length) setErrors(r.draftRuleErrors);
  }, [r]);
  // The draft is checked as it changes (no group yet to preview against): errors show at their condition.
  useEffect(() => {
    if (!draft) return;
    const timer = setTimeout(async () => {
      try {
        const v = await send<{ valid: boolean; errors?: ProblemError[] }>('POST', '/rules/validate', { rule: draft });
        setErrors(v.valid ? [] : (v.errors ?? []));
      } catch (err) {
        const e = toApiError(err);
        if (e.status === 400) setErrors(e.errors);
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [draft && JSON.stringify(draft)]);

  if (req.error) return <Problem error={req.error} />;
  if (!r) return <p>Loading…</p>;
  const patch = async (body: Record<string, unknown>) => {
    setError(undefined);
    try {
      await send('PATCH', `/requests/${enc(r.id)}`, body);
      req.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const createAndFinish = async () => {
    setError(undefined);
    try {
      const g = await send<Group>('POST', '/groups', { name, description: `${r.title} (request by ${r.requestedBy})`, type: 'automatic', rule: draft });
      await send('PATCH', `/requests/${enc(r.id)}`, { status: 'done', groupId: g.id, note: `Group "${g.name}" created from the request.` });
      req.reload();
    } catch (err) {
      const e = toApiError(err);
      if (e.status === 400) setErrors(e.errors.filter((x) => x.path.startsWith('rule')));
      setError(e);
    }
  };
  const open = r.status === 'open' || r.status === 'in_progress';
  return (
    <section>
      <p>
        <a href="#/requests">← Requests</a>
      </p>
      <h1>{r.title}</h1>
      <p>
        <span class={`state state-${r.status}`} data-testid="request-status">
          {r.status}
        </span>{' '}
        requested by {r.requestedBy}, {when(r.createdAt)}
      </p>
      <p class="description">{r.description}</p>
      {r.groupId && (
        <p>
          Group: <a href={`#/groups/${enc(r.groupId)}`}>{r.groupId}</a>
        </p>
      )}
      {editable && open && (
        <div class="row">
          {r.status === 'open' && (
            <button type="button" onClick={() => patch({ status: 'in_progress' })}>
              Start work
            </button>
          )}
          <button type="button" onClick={() => patch({ status: 'rejected' })}>
            Reject
          </button>
        </div>
      )}
      {draft && catalogue && (open || !r.groupId) && (
        <section class="card" aria-label="Draft rule">
          <h2>Draft rule</h2>
          <RuleBuilder rule={draft} catalogue={catalogue} errors={errors} readOnly={!editable || !open} onChange={setDraft} />
          {editable && open && (
            <form
              class="row"
              aria-label="Create the group and finish the request"
              onSubmit={(e) => {
                e.preventDefault();
                void createAndFinish();
              }}
            >
              <label>
                Group name
                <input name="groupName" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
              </label>
              <button type="submit" class="primary" disabled={errors.length > 0}>
                Create group and mark done
              </button>
            </form>
          )}
        </section>
      )}
      <Problem error={error} />
      <h2>Timeline</h2>
      <ol class="timeline">
        {r.timeline.map((t, i) => (
          <li key={i}>
            {when(t.at)} — {t.actor}: {t.event} → {t.status}
            {t.note ? ` (${t.note})` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}
