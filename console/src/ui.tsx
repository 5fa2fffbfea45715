// Small shared pieces: loading data, showing a problem, dates, a job's progress, a user's name, finding a user.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';
import type { Catalogue, Course, FactInfo, FieldDefinition, Job, OperatorInfo, Page, RuleTemplate, User, UserSummary } from './types.js';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload(): void;
}

/** Runs `load` now and whenever `deps` change; the last answer wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: toApiError(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function toApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'Error', (err as Error)?.message ?? String(err), []);
}

export function Problem({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <div class="problem" role="alert">
      <strong>{error.title}</strong>
      {error.detail && <span> {error.detail}</span>}
      {error.errors.length > 0 && (
        <ul>
          {error.errors.map((e) => (
            <li key={e.path + e.message}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');

/** What a job does, in words, naming its group or course. */
export function jobKind(j: Job): string {
  const group = j.groupName ? `“${j.groupName}”` : j.groupId ? 'a deleted group' : '';
  switch (j.name) {
    case 'sync-group':
      return `Sync of ${group || 'a group'}`;
    case 'sync-all':
      return 'Sync of every automatic group';
    case 'sync-partition':
      return 'Part of a sync of every automatic group';
    case 'nightly-sync':
      return 'Nightly sync';
    case 'class-sync':
      return `Class group sync of ${j.course ?? 'a course'}`;
    case 'class-sync-all':
      return 'Class group sync of every course';
    case 'group-enroll':
      return `Enrolment of the members of ${group || 'a group'} in its courses`;
    case 'members-copy':
      return `Copy of members into ${group || 'a group'}`;
    case 'snapshot-build':
    case 'snapshot-refresh':
      return 'Refresh of the directory snapshot (used by previews)';
    case 'reaction-replay':
      return 'Retry of membership changes owed to directory writes';
    default:
      return j.name;
  }
}

export function ProgressBar({ job }: { job: Job }) {
  const total = job.progress?.total ?? 0;
  const done = job.progress?.done ?? 0;
  return (
    <div class="job-progress">
      <progress max={total || 1} value={job.status === 'completed' ? total || 1 : done} aria-label={`Progress of ${jobKind(job)}`} />
      <span>
        {job.status} {total ? `${done}/${total}` : ''}
        {job.error ? ` — ${job.error}` : ''}
      </span>
    </div>
  );
}

/** Polls a job until it is completed or failed; calls `onDone` once then. */
export function useJob(jobId: string | undefined, onDone?: (job: Job) => void): Job | undefined {
  const [job, setJob] = useState<Job>();
  const done = useRef(onDone);
  done.current = onDone;
  useEffect(() => {
    if (!jobId) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const j = await get<Job>(`/jobs/${encodeURIComponent(jobId)}`);
        if (!live) return;
        setJob(j);
        if (j.status === 'completed' || j.status === 'failed') return done.current?.(j);
      } catch {
        // the job record may not be written yet: ask again
      }
      if (live) timer = setTimeout(poll, 400);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [jobId]);
  return job;
}

let catalogue: Promise<Catalogue> | undefined;

/** What the rule builder offers: field definitions, courses, the operator and fact catalogues (read once). */
export function loadCatalogue(): Promise<Catalogue> {
  catalogue ??= Promise.all([
    get<{ items: FieldDefinition[] }>('/fields?limit=1000'),
    get<{ items: Course[] }>('/courses?limit=1000'),
    get<{ items: OperatorInfo[] }>('/rules/operators'),
    get<{ items: FactInfo[] }>('/rules/facts'),
    get<{ items: RuleTemplate[] }>('/rules/templates'),
  ]).then(([f, c, o, fa, t]) => ({ fields: f.items, courses: c.items, operators: o.items, facts: fa.items, templates: t.items }));
  catalogue.catch(() => (catalogue = undefined));
  return catalogue;
}

export function Pager({ cursor, onNext, onFirst, atFirst }: { cursor: string | null | undefined; onNext(c: string): void; onFirst(): void; atFirst: boolean }) {
  return (
    <div class="row pager">
      <button type="button" disabled={atFirst} onClick={onFirst}>
        First page
      </button>
      <button type="button" disabled={!cursor} onClick={() => cursor && onNext(cursor)}>
        Next page
      </button>
    </div>
  );
}

/** A user as people know them: name, then email; the externalId as a quiet detail. Links to the user's page. */
export function UserName({ id, user, link = true }: { id: string; user?: UserSummary | undefined; link?: boolean }) {
  const name = user ? `${user.firstName} ${user.lastName}`.trim() : id;
  return (
    <span class="user-name">
      {link ? <a href={`#/users/${encodeURIComponent(id)}`}>{name}</a> : <strong>{name}</strong>}
      {user && (
        <>
          {' '}
          <span class="email">{user.email}</span> <small class="id">({id})</small>
        </>
      )}
    </span>
  );
}

/** Users found by a piece of their name, email or id (GET /users?q=). */
export async function findUsers(text: string, limit = 20): Promise<User[]> {
  const q = text.trim();
  if (!q) return [];
  return (await get<Page<User>>(`/users?q=${encodeURIComponent(q)}&limit=${limit}`)).items;
}

/**
 * Finding a user by name or email and choosing one: a search box whose matches are buttons. `onPick` gets the
 * chosen user; the box empties when it answers true.
 */
export function UserPicker({ label, button, onPick }: { label: string; button: string; onPick(user: User): Promise<boolean> | boolean }) {
  const [text, setText] = useState('');
  const [found, setFound] = useState<User[]>();
  const [error, setError] = useState<ApiError>();
  const search = async () => {
    setError(undefined);
    try {
      setFound(await findUsers(text));
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <div class="user-picker">
      <form
        class="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label>
          {label}
          <input type="search" required value={text} placeholder="name, email or id" onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Find</button>
      </form>
      <Problem error={error} />
      {found && found.length === 0 && <p class="hint">No user matches “{text.trim()}”.</p>}
      {found && found.length > 0 && (
        <ul class="picks">
          {found.map((u) => (
            <li key={u.externalId}>
              <UserName id={u.externalId} user={u} link={false} />{' '}
              <button
                type="button"
                onClick={async () => {
                  if (await onPick(u)) {
                    setText('');
                    setFound(undefined);
                  }
                }}
              >
                {button} {u.firstName} {u.lastName}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Calls `tick` every `ms` while `active`; stops when the page goes. */
export function usePolling(active: boolean, ms: number, tick: () => void): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

/** The jobs that act on memberships, as an actor names them (`job:<name> (<job id>)`), in words. */
const ACTOR_JOBS: Record<string, string> = {
  'sync-group': 'a sync of the group',
  'sync-all': 'the full sync',
  'sync-partition': 'the full sync',
  'nightly-sync': 'the nightly sync',
  'class-sync': 'the class group sync',
  'group-enroll': 'the enrolment of the group',
  'members-copy': 'a copy of members',
  'reaction-replay': 'a retried directory change',
};

/**
 * Who made a change, as a person reads it: an API key by its name ("key:Ops desk (key_…)" → "Ops desk"), a job by
 * what it does; anything else as the API wrote it.
 */
export function actorWords(actor: string | undefined): string {
  if (!actor) return '';
  const key = /^key:(.*) \(key_[0-9a-f]+\)$/.exec(actor);
  if (key) return key[1]!;
  const job = /^job:([\w-]+)/.exec(actor);
  if (job) return ACTOR_JOBS[job[1]!] ?? `the job ${job[1]!}`;
  return actor;
}
