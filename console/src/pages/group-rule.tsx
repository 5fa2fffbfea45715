// A group's rule: the builder over a draft, a live preview of the draft (debounced), and a save guarded by
// If-Match whose 412 offers the latest version or to keep the draft.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, enc, send, type ProblemError } from '../api.js';
import { RuleBuilder } from '../RuleBuilder.js';
import type { Catalogue, Group, Preview, RuleDocument, RuleValidation, UserSummary } from '../types.js';
import { namesGroups } from '../rule-model.js';
import { Problem, loadCatalogue, toApiError, when } from '../ui.js';

const PREVIEW_DELAY_MS = 400;

/** A `datetime-local` value (the viewer's local time) as the instant the API takes, or undefined when empty or unreadable. */
export function instantOf(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The sampled users by name (the preview's sample…Users), each linking to the user. */
export function UserLinks({ ids, users }: { ids: string[]; users?: UserSummary[] | undefined }) {
  return (
    <>
      {ids.map((id, i) => {
        const u = users?.find((x) => x.externalId === id);
        return (
          <span key={id}>
            {i > 0 && ', '}
            <a href={`#/users/${enc(id)}`} title={u ? `${u.email} (${id})` : undefined}>
              {u ? `${u.firstName} ${u.lastName}` : id}
            </a>
          </span>
        );
      })}
    </>
  );
}

export function RuleEditor({ group, editable, onSaved }: { group: Group; editable: boolean; onSaved(): void }) {
  const [catalogue, setCatalogue] = useState<Catalogue>();
  const [base, setBase] = useState<{ rule: RuleDocument; etag: string }>();
  const [draft, setDraft] = useState<RuleDocument>();
  const [errors, setErrors] = useState<ProblemError[]>([]);
  const [preview, setPreview] = useState<Preview>();
  // Preview as of a later moment ("who would join and leave by 1 March"), in the viewer's local time; empty: now.
  const [at, setAt] = useState('');
  const [atErrors, setAtErrors] = useState<ProblemError[]>([]);
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
        // A rule naming groups may close a cycle, which only a check for this group finds (a preview does not):
        // asked first, so the cycle shows at its condition as soon as the group is chosen, not only at save.
        if (namesGroups(draft.conditions)) {
          const check = await send<RuleValidation>('POST', '/rules/validate', { rule: draft, group: group.id });
          if (mine !== seq.current) return;
          if (!check.valid) {
            setErrors(check.errors ?? []);
            setAtErrors([]);
            setPreview(undefined);
            return;
          }
        }
        const instant = instantOf(at);
        const p = await send<Preview>('POST', `/groups/${enc(group.id)}/preview`, { rule: draft, ...(instant ? { at: instant } : {}) });
        if (mine !== seq.current) return;
        setPreview(p);
        setErrors([]);
        setAtErrors([]);
      } catch (err) {
        if (mine !== seq.current) return;
        const e = toApiError(err);
        if (e.status === 400) {
          // The rule's errors show at its conditions; those of `at` beside the date.
          setErrors(e.errors.filter((x) => x.path !== 'at'));
          setAtErrors(e.errors.filter((x) => x.path === 'at'));
        } else setProblem(e);
        setPreview(undefined);
      } finally {
        if (mine === seq.current) setPreviewing(false);
      }
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft && JSON.stringify(draft), at]);

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
      <RuleBuilder rule={draft} groupId={group.id} catalogue={catalogue} errors={errors} readOnly={!editable} onChange={setDraft} />
      <div class="preview" aria-live="polite" data-testid="preview">
        <h3>Preview {previewing && <small>(updating…)</small>}</h3>
        <label class="preview-at">
          <span id={`preview-at-${group.id}`}>As of (optional; empty: now)</span>
          <input aria-labelledby={`preview-at-${group.id}`} type="datetime-local" value={at} onInput={(e) => setAt((e.target as HTMLInputElement).value)} />
        </label>
        {atErrors.length > 0 && (
          <ul class="field-errors" role="alert">
            {atErrors.map((e) => (
              <li key={e.message}>As of: {e.message}</li>
            ))}
          </ul>
        )}
        {preview ? (
          <p>
            {instantOf(at) && <>By {when(instantOf(at))}: </>}
            Would join: <strong data-testid="preview-add">{preview.toAdd}</strong> · would leave: <strong data-testid="preview-remove">{preview.toRemove}</strong>
            {preview.sampleAdd.length > 0 && (
              <span class="samples">
                {' '}
                · e.g. joining: <UserLinks ids={preview.sampleAdd} users={preview.sampleAddUsers} />
              </span>
            )}
            {preview.sampleRemove.length > 0 && (
              <span class="samples">
                {' '}
                · e.g. leaving: <UserLinks ids={preview.sampleRemove} users={preview.sampleRemoveUsers} />
              </span>
            )}
            {instantOf(at) && typeof preview.flipsBefore === 'number' && (
              <span data-testid="preview-flips"> · {preview.flipsBefore} of these by time alone (flips due before then)</span>
            )}
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
            onClick={() =>
              call<{ version: number }>(`/groups/${enc(group.id)}/rule`).then((res) => {
                setBase((b) => b && { ...b, etag: res.etag ?? `"${res.body.version}"` });
                setConflict(false);
              }, (e: unknown) => setProblem(toApiError(e)))
            }
          >
            Keep my draft
          </button>
        </div>
      )}
      {editable && (
        <div class="row">
          {/* Until the conflict is settled (reloaded, or the draft kept over the latest version), a save would go
              out with the version it was about and conflict again. */}
          <button type="button" class="primary" disabled={!dirty || conflict} onClick={save}>
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

