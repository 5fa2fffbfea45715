// The console's shell: the session (sign in, who you are, sign out), the navigation, and hash routes
// (#/groups/…), so the service serves one page and a reload keeps the place.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, SIGNED_OUT_EVENT, get, send, setCsrfToken } from './api.js';
import type { Session } from './types.js';
import { Problem, toApiError } from './ui.js';
import { GroupsPage } from './pages/groups.js';
import { GroupPage } from './pages/group.js';
import { RequestsPage, RequestPage } from './pages/requests.js';
import { UsersPage, UserPage } from './pages/users.js';
import { JobsPage } from './pages/jobs.js';
import { ProvisioningPage } from './pages/provisioning.js';
import { WebhooksPage } from './pages/webhooks.js';

export const canEdit = (s: Session): boolean => s.role === 'admin' || s.role === 'support';

/**
 * Whether this browser signed in here and has not signed out since. The session cookie is HttpOnly, so the page
 * cannot see it; without this hint every visit signed out would ask GET /session only to be told 401 (which the
 * browser logs as an error). A stale hint costs one such answer, after which it is cleared.
 */
const SIGNED_IN_HINT = 'autogroups:signed-in';
const hint = {
  get: (): boolean => {
    try {
      return localStorage.getItem(SIGNED_IN_HINT) === '1';
    } catch {
      return true; // storage refused: ask the service
    }
  },
  set(on: boolean): void {
    try {
      if (on) localStorage.setItem(SIGNED_IN_HINT, '1');
      else localStorage.removeItem(SIGNED_IN_HINT);
    } catch {
      // storage refused: the next visit asks the service
    }
  },
};

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn }: { onSignedIn(s: Session): void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  return (
    <main class="sign-in">
      <h1>Autogroups console</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const s = await send<Session>('POST', '/session', { key: key.trim() });
            setCsrfToken(s.csrfToken);
            hint.set(true);
            onSignedIn(s);
          } catch (err) {
            setError(toApiError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          API key
          <input name="key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        </label>
        <p class="hint">Paste an API key (e.g. the BOOTSTRAP_ADMIN_KEY). It is exchanged for a session cookie and not kept by the page.</p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <Problem error={error} />
    </main>
  );
}

/**
 * The page for the address. A page that shows one resource is keyed by its id: going to another (a new address,
 * back or forward) starts a new page with that resource's state, never the previous one's draft, tab or result.
 */
function route(hash: string, session: Session) {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [section, id] = parts;
  const editable = canEdit(session);
  switch (section) {
    case 'groups':
      return id ? <GroupPage key={id} id={id} editable={editable} /> : <GroupsPage editable={editable} />;
    case 'requests':
      return id ? <RequestPage key={id} id={id} editable={editable} /> : <RequestsPage editable={editable} />;
    case 'users':
      return id ? <UserPage key={id} id={id} /> : <UsersPage />;
    case 'jobs':
      return <JobsPage admin={session.role === 'admin'} />;
    case 'provisioning':
      return session.role === 'admin' ? <ProvisioningPage /> : <GroupsPage editable={editable} />;
    case 'webhooks':
      return session.role === 'admin' ? <WebhooksPage /> : <GroupsPage editable={editable} />;
    default:
      return <GroupsPage editable={editable} />;
  }
}

function App() {
  const [session, setSession] = useState<Session | null>();
  const hash = useHash();
  useEffect(() => {
    // A reload: the cookie may still hold a session; its CSRF token comes back from GET /session.
    if (hint.get()) {
      get<Session>('/session').then(
        (s) => {
          setCsrfToken(s.csrfToken);
          setSession(s);
        },
        () => (hint.set(false), setSession(null)),
      );
    } else {
      setSession(null);
    }
    const signedOut = () => {
      hint.set(false);
      setCsrfToken(undefined);
      setSession(null);
    };
    addEventListener(SIGNED_OUT_EVENT, signedOut);
    return () => removeEventListener(SIGNED_OUT_EVENT, signedOut);
  }, []);
  if (session === undefined) return <p>Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  const section = hash.replace(/^#\/?/, '').split('/')[0] || 'groups';
  const link = (to: string, text: string) => (
    <a href={`#/${to}`} aria-current={section === to ? 'page' : undefined}>
      {text}
    </a>
  );
  return (
    <>
      <header class="top">
        <span class="brand">Autogroups</span>
        <nav aria-label="Sections">
          {link('groups', 'Groups')}
          {link('requests', 'Requests')}
          {link('users', 'Users')}
          {link('jobs', 'Jobs')}
          {session.role === 'admin' && link('provisioning', 'Provisioning')}
          {session.role === 'admin' && link('webhooks', 'Webhooks')}
          {session.role === 'admin' && <a href="/dashboard">Dashboard</a>}
        </nav>
        <span class="who">
          {session.name} · <strong data-testid="role">{session.role}</strong>
          {!canEdit(session) && <span class="badge">read only</span>}
        </span>
        <button
          type="button"
          onClick={async () => {
            await send('DELETE', '/session').catch(() => undefined);
            hint.set(false);
            setCsrfToken(undefined);
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>{route(hash, session)}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
