// Users: find one by a piece of their name, email or id (GET /users?q=); a user's fields, enrolments, and the groups they are in, each with why.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, enc, get } from '../api.js';
import type { Enrollment, Explanation, Group, Page, User } from '../types.js';
import { Problem, findUsers, loadCatalogue, toApiError, useLoad } from '../ui.js';
import { ExplainUser } from './explain.js';

export function UsersPage() {
  const [text, setText] = useState('');
  const [results, setResults] = useState<User[]>();
  const [error, setError] = useState<ApiError>();
  return (
    <section>
      <h1>Users</h1>
      <form
        class="row"
        role="search"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            setResults(await findUsers(text, 100));
          } catch (err) {
            setError(toApiError(err));
          }
        }}
      >
        <label>
          Email, name or id
          <input type="search" name="q" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <Problem error={error} />
      {results && (
        <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Type</th>
              <th scope="col">Id</th>
            </tr>
          </thead>
          <tbody>
            {results.map((u) => (
              <tr key={u.externalId}>
                <td>
                  <a href={`#/users/${enc(u.externalId)}`}>
                    {u.firstName} {u.lastName}
                  </a>
                </td>
                <td>{u.email}</td>
                <td>{u.type}</td>
                <td class="id">{u.externalId}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {results?.length === 0 && <p>No user found.</p>}
    </section>
  );
}

/** The groups this user is in (or that the rule selects), read through explain, one call per group. */
async function groupsOf(externalId: string): Promise<Array<{ group: Group; why: Explanation }>> {
  const groups = (await get<Page<Group>>('/groups?limit=200')).items;
  const out = await Promise.all(groups.map(async (group) => ({ group, why: await get<Explanation>(`/groups/${enc(group.id)}/explain/${enc(externalId)}`) })));
  return out.filter((x) => x.why.member || x.why.matches);
}

export function UserPage({ id }: { id: string }) {
  const user = useLoad(() => get<User>(`/users/${enc(id)}`), [id]);
  const enrolments = useLoad(() => get<Page<Enrollment>>(`/users/${enc(id)}/enrollments?limit=1000`), [id]);
  const groups = useLoad(() => groupsOf(id), [id]);
  // Fields by their label and courses by their title, as people know them (the catalogue is read once).
  const catalogue = useLoad(() => loadCatalogue().catch(() => undefined), []);
  const fieldLabel = (key: string) => catalogue.data?.fields.find((f) => f.key === key)?.label ?? key;
  const courseName = (code: string) => {
    const title = catalogue.data?.courses.find((c) => c.code === code)?.title;
    return title ? `${title} (${code})` : code;
  };
  const [why, setWhy] = useState<string>();
  const u = user.data;
  if (user.error) return <Problem error={user.error} />;
  if (!u) return <p>Loading…</p>;
  return (
    <section>
      <p>
        <a href="#/users">← Users</a>
      </p>
      <h1>
        {u.firstName} {u.lastName}
      </h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd>{u.externalId}</dd>
        <dt>Email</dt>
        <dd>{u.email}</dd>
        <dt>Type</dt>
        <dd>{u.type}</dd>
        <dt>Status</dt>
        <dd>{u.status}</dd>
        <dt>Branch</dt>
        <dd>{u.branch ?? '—'}</dd>
        {Object.entries(u.fields ?? {}).map(([k, v]) => (
          <Fragment key={k}>
            <dt>{fieldLabel(k)}</dt>
            <dd>{String(v)}</dd>
          </Fragment>
        ))}
      </dl>
      <h2>Enrolments</h2>
      <Problem error={enrolments.error} />
      <ul>
        {enrolments.data?.items.map((e) => (
          <li key={e.course}>
            {courseName(e.course)}: {e.status}
            {e.role ? `, ${e.role}` : ''}
            {e.class ? `, class ${e.class}` : ''}
            {e.cohort ? `, cohort ${e.cohort}` : ''}
          </li>
        ))}
      </ul>
      {enrolments.data?.items.length === 0 && <p>No enrolments.</p>}
      <h2>Groups</h2>
      <Problem error={groups.error} />
      {groups.loading && <p>Reading the groups…</p>}
      <ul data-testid="user-groups">
        {groups.data?.map(({ group, why: w }) => (
          <li key={group.id}>
            <a href={`#/groups/${enc(group.id)}`}>{group.name}</a> — {w.member ? 'member' : 'not a member yet'}
            {w.matches ? ', the rule selects them' : group.type === 'automatic' ? ', the rule does not select them' : ''}{' '}
            <button type="button" class="link" onClick={() => setWhy(group.id)}>
              Why? ({group.name})
            </button>
          </li>
        ))}
      </ul>
      {groups.data?.length === 0 && <p>In no group.</p>}
      {why && <ExplainUser key={why} groupId={why} initial={u.externalId} />}
    </section>
  );
}
