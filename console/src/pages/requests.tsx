// Support requests: the queue by status, a new request (with a draft rule if the asker gave one), and a request
// with its timeline and its draft rule in the builder. The draft is saved to the request as it changes (and when
// the page is left), so it is never lost; the group is created only after a preview of who would join, paused
// unless the person starts it, and the request is marked done with that group, both named on the page.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, enc, get, query, send, type ProblemError } from '../api.js';
import { RuleBuilder } from '../RuleBuilder.js';
import type { Catalogue, Group, Page, Preview, RuleDocument, SupportRequest } from '../types.js';
import { Problem, actorWords, loadCatalogue, toApiError, useLoad, when } from '../ui.js';
import { UserLinks } from './group-rule.js';

const STATUSES = ['open', 'in_progress', 'done', 'rejected'] as const;
const statusWords = (s: string) => s.replace('_', ' ');

/** How long the draft waits after its last change before it is saved to the request. */
const SAVE_DELAY_MS = 800;

const EMPTY_RULE: RuleDocument = { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } };

export function RequestsPage({ editable }: { editable: boolean }) {
  const [status, setStatus] = useState<string>('open');
  const list = useLoad(() => get<Page<SupportRequest>>(`/requests${query({ status, limit: 200 })}`), [status]);
  // The groups requests produced, by name.
  const groups = useLoad(() => get<Page<Group>>('/groups?limit=1000').then((p) => new Map(p.items.map((g) => [g.id, g.name]))), []);
  return (
    <section>
      <h1>Support requests</h1>
      <div role="group" aria-label="Status" class="tabs">
        {[...STATUSES, ''].map((s) => (
          <button key={s} type="button" aria-pressed={status === s} onClick={() => setStatus(s)}>
            {s ? statusWords(s) : 'all'}
          </button>
        ))}
      </div>
      <Problem error={list.error} />
      <ul class="request-list">
        {list.data?.items.map((r) => (
          <li key={r.id}>
            <a href={`#/requests/${enc(r.id)}`}>{r.title}</a> <span class={`state state-${r.status}`}>{statusWords(r.status)}</span> — {r.requestedBy}, {when(r.createdAt)}
            {r.groupId && groups.data?.has(r.groupId) && (
              <>
                {' '}
                → <a href={`#/groups/${enc(r.groupId)}`}>{groups.data.get(r.groupId)}</a>
              </>
            )}
            {r.draftRuleErrors?.length ? <span class="badge">draft rule has errors</span> : null}
          </li>
        ))}
      </ul>
      {list.data?.items.length === 0 && <p>No requests{status ? ` ${statusWords(status)}` : ''}.</p>}
      {editable && <NewRequest onCreated={(r) => (location.hash = `#/requests/${enc(r.id)}`)} />}
    </section>
  );
}

function NewRequest({ onCreated }: { onCreated(r: SupportRequest): void }) {
  const [form, setForm] = useState({ title: '', description: '', requestedBy: '' });
  const [draft, setDraft] = useState<RuleDocument>();
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const [error, setError] = useState<ApiError>();
  const set = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement | HTMLTextAreaElement).value });
  return (
    <form
      class="card new-request"
      aria-label="New request"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          onCreated(await send<SupportRequest>('POST', '/requests', { ...form, ...(draft ? { draftRule: draft } : {}) }));
        } catch (err) {
          setError(toApiError(err));
        }
      }}
    >
      <h2>New request</h2>
      <label>
        Title
        <input name="title" required value={form.title} onInput={set('title')} />
      </label>
      <label class="wide">
        Description
        <textarea name="description" required rows={4} value={form.description} onInput={set('description')} />
      </label>
      <label>
        Requested by
        <input name="requestedBy" required placeholder="a name or an email" value={form.requestedBy} onInput={set('requestedBy')} />
      </label>
      {draft && catalogue ? (
        <section class="wide" aria-label="Draft rule of the new request">
          <h3>Draft rule</h3>
          <RuleBuilder rule={draft} catalogue={catalogue} errors={[]} readOnly={false} onChange={setDraft} />
          <button type="button" onClick={() => setDraft(undefined)}>
            No draft rule
          </button>
        </section>
      ) : (
        <button
          type="button"
          onClick={() =>
            loadCatalogue().then(
              (c) => (setCatalogue(c), setDraft(EMPTY_RULE)),
              (err: unknown) => setError(toApiError(err)),
            )
          }
        >
          Add a draft rule
        </button>
      )}
      <button type="submit" class="primary">
        Add request
      </button>
      <Problem error={error} />
    </form>
  );
}

/** The request's draft saved to it: after each change (debounced), and when the page goes with a change unsaved. */
function useSavedDraft(requestId: string, draft: RuleDocument | undefined, saved: string | undefined, enabled: boolean, onSaved: () => void) {
  const [state, setState] = useState<'saved' | 'unsaved' | 'saving' | 'failed'>('saved');
  const [error, setError] = useState<ApiError>();
  const savedText = useRef(saved);
  const pending = useRef<string>();
  const text = draft ? JSON.stringify(draft) : undefined;
  if (savedText.current === undefined && saved !== undefined) savedText.current = saved;
  const save = async (body: string) => {
    setState('saving');
    try {
      await send('PATCH', `/requests/${enc(requestId)}`, { draftRule: JSON.parse(body) as unknown });
      savedText.current = body;
      if (pending.current === body) pending.current = undefined;
      setState(pending.current ? 'unsaved' : 'saved');
      setError(undefined);
      onSaved();
    } catch (err) {
      setState('failed');
      setError(toApiError(err));
    }
  };
  useEffect(() => {
    if (!enabled || text === undefined || text === savedText.current) return;
    pending.current = text;
    setState('unsaved');
    const timer = setTimeout(() => void save(text), SAVE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, enabled]);
  // Leaving the page (another address, or closing the tab) with a change not yet saved: save it on the way out.
  useEffect(() => {
    const flush = () => {
      const body = pending.current;
      if (!body || body === savedText.current) return;
      pending.current = undefined;
      void send('PATCH', `/requests/${enc(requestId)}`, { draftRule: JSON.parse(body) as unknown }).catch(() => undefined);
    };
    const warn = (e: BeforeUnloadEvent) => {
      if (pending.current && pending.current !== savedText.current) {
        flush();
        e.preventDefault();
      }
    };
    addEventListener('beforeunload', warn);
    return () => {
      removeEventListener('beforeunload', warn);
      flush();
    };
  }, [requestId]);
  return { state, error, markSaved: (body: string) => ((savedText.current = body), (pending.current = undefined), setState('saved')) };
}

export function RequestPage({ id, editable }: { id: string; editable: boolean }) {
  const req = useLoad(() => get<SupportRequest>(`/requests/${enc(id)}`), [id]);
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const [draft, setDraft] = useState<RuleDocument>();
  const [errors, setErrors] = useState<ProblemError[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<ApiError>();
  const r = req.data;
  const open = r?.status === 'open' || r?.status === 'in_progress';
  const stored = r?.draftRule as RuleDocument | undefined;
  const saving = useSavedDraft(id, draft, r ? JSON.stringify(stored ?? EMPTY_RULE) : undefined, editable && open, req.reload);
  const group = useLoad(() => (r?.groupId ? get<Group>(`/groups/${enc(r.groupId)}`).catch(() => undefined) : Promise.resolve(undefined)), [r?.groupId]);
  useEffect(() => {
    loadCatalogue().then(setCatalogue, (e: unknown) => setError(toApiError(e)));
  }, []);
  useEffect(() => {
    if (!r) return;
    // The page is keyed by the request (main.tsx): this is this request's first answer, never another's.
    setDraft((d) => d ?? stored ?? EMPTY_RULE);
    setName((n) => n || r.title);
    if (r.draftRuleErrors && !errors.length) setErrors(r.draftRuleErrors);
  }, [r]);
  // The draft is checked as it changes: errors show at their condition.
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

  if (req.error && !r) return <Problem error={req.error} />;
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
  const g = group.data;
  return (
    <section>
      <p>
        <a href="#/requests">← Requests</a>
      </p>
      <h1>{r.title}</h1>
      <p>
        <span class={`state state-${r.status}`} data-testid="request-status">
          {statusWords(r.status)}
        </span>{' '}
        requested by {r.requestedBy}, {when(r.createdAt)}
      </p>
      <p class="description">{r.description}</p>
      {r.groupId && (
        <p data-testid="request-group">
          Group: {g ? <a href={`#/groups/${enc(g.id)}`}>{g.name}</a> : <span>a group that no longer exists ({r.groupId})</span>}
          {g && (
            <>
              {' '}
              — {g.memberCount} members{g.paused ? ', paused' : ''}
            </>
          )}
        </p>
      )}
      {editable && (
        <div class="row">
          {r.status === 'open' && (
            <button type="button" onClick={() => patch({ status: 'in_progress' })}>
              Start work
            </button>
          )}
          {open && (
            <button type="button" onClick={() => patch({ status: 'rejected' })}>
              Reject
            </button>
          )}
          {!open && (
            <button type="button" onClick={() => patch({ status: r.status === 'done' ? 'in_progress' : 'open', note: 'Reopened.' })}>
              Reopen
            </button>
          )}
        </div>
      )}
      {open && draft && catalogue && (
        <section class="card" aria-label="Draft rule">
          <h2>Draft rule</h2>
          <RuleBuilder rule={draft} catalogue={catalogue} errors={errors} readOnly={!editable} onChange={setDraft} />
          {editable && (
            <p class="hint" role="status" data-testid="draft-state">
              {saving.state === 'saved' ? 'Draft saved to the request.' : saving.state === 'saving' ? 'Saving the draft…' : saving.state === 'failed' ? 'The draft could not be saved.' : 'Unsaved changes…'}
            </p>
          )}
          <Problem error={saving.error} />
          {editable && <CreateFromRequest request={r} draft={draft} name={name} setName={setName} ruleHasErrors={errors.length > 0} onErrors={setErrors} onDone={(body) => (saving.markSaved(body), req.reload())} />}
        </section>
      )}
      {!open && catalogue && (g?.rule ?? stored) && (
        <section class="card" aria-label="Rule">
          <h2>{g?.rule ? `The rule of ${g.name}` : 'The draft rule'}</h2>
          <RuleBuilder rule={(g?.rule as RuleDocument | undefined) ?? stored!} catalogue={catalogue} errors={[]} readOnly onChange={() => undefined} />
        </section>
      )}
      <Problem error={error} />
      <h2>Timeline</h2>
      <ol class="timeline">
        {collapseDraftSaves(r.timeline).map(({ entry: t, times }, i) => (
          <li key={i}>
            {when(t.at)} — {actorWords(t.actor)}: {t.event === 'created' ? 'created' : t.from && t.from !== t.status ? `${statusWords(t.from)} → ${statusWords(t.status)}` : 'changed'}
            {t.draftRule ? `, draft rule ${t.draftRule === 'set' ? 'saved' : 'removed'}` : ''}
            {times > 1 ? ` (${times} saves, the last shown)` : ''}
            {t.groupId ? `, group ${t.groupId === g?.id ? g.name : t.groupId}` : ''}
            {t.note ? ` (${t.note})` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}

type TimelineEntry = SupportRequest['timeline'][number];

/** Only a draft saved, nothing else: what the page's autosave writes as the draft is edited. */
const isDraftSave = (t: TimelineEntry) => t.event === 'changed' && t.draftRule === 'set' && (!t.from || t.from === t.status) && !t.note && t.groupId === undefined;

/** The timeline with each run of draft saves by one person shown once, with how many it holds. */
function collapseDraftSaves(timeline: TimelineEntry[]): Array<{ entry: TimelineEntry; times: number }> {
  const out: Array<{ entry: TimelineEntry; times: number }> = [];
  for (const entry of timeline) {
    const last = out[out.length - 1];
    if (last && isDraftSave(entry) && isDraftSave(last.entry) && last.entry.actor === entry.actor) out[out.length - 1] = { entry, times: last.times + 1 };
    else out.push({ entry, times: 1 });
  }
  return out;
}

/**
 * Creating the request's group: first who would join (POST /rules/preview, by name), with a warning when the rule
 * matches nobody; then the group, paused unless the person starts it, and the request marked done with it.
 */
function CreateFromRequest({
  request: r,
  draft,
  name,
  setName,
  ruleHasErrors,
  onErrors,
  onDone,
}: {
  request: SupportRequest;
  draft: RuleDocument;
  name: string;
  setName(n: string): void;
  ruleHasErrors: boolean;
  onErrors(e: ProblemError[]): void;
  onDone(savedDraft: string): void;
}) {
  const [preview, setPreview] = useState<{ rule: string; result: Preview }>();
  const [startNow, setStartNow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const ruleText = JSON.stringify(draft);
  const current = preview?.rule === ruleText ? preview.result : undefined;
  const run = async (fn: () => Promise<void>) => {
    setError(undefined);
    setBusy(true);
    try {
      await fn();
    } catch (err) {
      const e = toApiError(err);
      if (e.status === 400) onErrors(e.errors.filter((x) => x.path.startsWith('rule')));
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const showPreview = () =>
    run(async () => {
      setStartNow(false);
      setPreview({ rule: ruleText, result: await send<Preview>('POST', '/rules/preview', { rule: draft }) });
    });
  const create = () =>
    run(async () => {
      const g = await send<Group>('POST', '/groups', { name, description: `${r.title} (request by ${r.requestedBy})`, type: 'automatic', rule: draft, paused: !startNow });
      await send('PATCH', `/requests/${enc(r.id)}`, { status: 'done', groupId: g.id, draftRule: draft, note: `Group "${g.name}" created from the request${startNow ? '' : ', paused'}.` });
      onDone(ruleText);
    });
  return (
    <form
      class="create-from-request"
      aria-label="Create the group and finish the request"
      onSubmit={(e) => {
        e.preventDefault();
        void (current ? create() : showPreview());
      }}
    >
      <label>
        Group name
        <input name="groupName" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      {!current && (
        <button type="submit" class="primary" disabled={ruleHasErrors || busy}>
          Preview who would join
        </button>
      )}
      {current && (
        <div class="preview" data-testid="create-preview" aria-live="polite">
          {current.toAdd === 0 ? (
            <p class="warning" role="alert">
              This rule matches nobody now: the group would start empty. Check the rule, or create it paused and come back to it.
            </p>
          ) : (
            <p>
              <strong data-testid="create-preview-count">{current.toAdd}</strong> {current.toAdd === 1 ? 'user' : 'users'} would join, e.g.{' '}
              <UserLinks ids={current.sampleAdd} users={current.sampleAddUsers} />
              {current.toAdd > current.sampleAdd.length ? ', …' : ''}.
            </p>
          )}
          <label class="check">
            <input type="checkbox" checked={startNow} onChange={(e) => setStartNow((e.target as HTMLInputElement).checked)} />
            Start the group now{current.toAdd ? `: these ${current.toAdd} users join at once` : ''} (otherwise it is created paused)
          </label>
          <div class="row">
            <button type="submit" class="primary" disabled={ruleHasErrors || busy}>
              Create group and mark done
            </button>
            <button type="button" onClick={() => setPreview(undefined)}>
              Back to the rule
            </button>
          </div>
        </div>
      )}
      <Problem error={error} />
    </form>
  );
}
