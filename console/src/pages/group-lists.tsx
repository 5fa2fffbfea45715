// A group's paged lists: members (searched, sorted by name, by source, CSV export, added and removed by hand),
// exclusions and history (filtered by user), each naming users by name and email. `changed` is the group's change
// mark (group.tsx): when it moves, the list reads again.
import { useState } from 'preact/hooks';
import { ApiError, enc, get, query, send } from '../api.js';
import type { Exclusion, HistoryEntry, Member, Page, User } from '../types.js';
import { Pager, Problem, UserName, UserPicker, actorWords, toApiError, useLoad, when } from '../ui.js';

const SOURCES = ['rule', 'manual', 'key', 'default', 'csv', 'copy', 'class'];

const fullName = (u: { firstName: string; lastName: string } | undefined, id: string) => (u ? `${u.firstName} ${u.lastName}` : id);

interface ListProps {
  groupId: string;
  changed: string;
}

export function Members({ groupId, editable, changed, onChanged, onExplain }: ListProps & { editable: boolean; onChanged(): void; onExplain(externalId: string): void }) {
  const [source, setSource] = useState('');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  // By id unless asked: the name order reads the whole group (fine for people, slow for a very large group).
  const [sort, setSort] = useState<'name' | 'externalId'>('externalId');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () => get<Page<Member>>(`/groups/${enc(groupId)}/members${query({ source, q, sort, include: 'user', cursor, limit: 50 })}`),
    [groupId, source, q, sort, cursor, changed],
  );
  const { error, change } = useUserListEdit(`/groups/${enc(groupId)}/members`, onChanged);
  return (
    <div>
      {editable && <UserPicker label="Add a member by hand" button="Add" onPick={(u: User) => change('PUT', u.externalId)} />}
      <Problem error={error} />
      <div class="row filters">
        <form
          class="row"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setQ(search.trim());
            setCursors([]);
          }}
        >
          <label>
            Search the members
            <input type="search" value={search} placeholder="name, email or id" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit">Search</button>
          {q && (
            <button type="button" onClick={() => (setSearch(''), setQ(''), setCursors([]))}>
              Show all
            </button>
          )}
        </form>
        <label>
          <span id="members-sort">Sort by</span>
          <select aria-labelledby="members-sort" value={sort} onChange={(e) => (setSort((e.target as HTMLSelectElement).value as 'name' | 'externalId'), setCursors([]))}>
            <option value="externalId">id</option>
            <option value="name">name</option>
          </select>
        </label>
        <label>
          <span id="members-source">Source</span>
          <select aria-labelledby="members-source" value={source} onChange={(e) => (setSource((e.target as HTMLSelectElement).value), setCursors([]))}>
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
                  <UserName id={m.externalId} user={m.user} />{' '}
                  <button type="button" class="link" onClick={() => onExplain(m.externalId)}>
                    Why is {fullName(m.user, m.externalId)} here?
                  </button>
                </td>
                <td>{m.source}</td>
                <td>
                  {when(m.addedAt)}
                  {editable && m.source !== 'rule' && (
                    <button type="button" class="link" onClick={() => change('DELETE', m.externalId)}>
                      Remove {fullName(m.user, m.externalId)}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.data?.items.length === 0 && <p>{q ? `No member matches “${q}”.` : `No members${source ? ` from ${source}` : ''}.`}</p>}
      <Pager cursor={page.data?.nextCursor} atFirst={!cursors.length} onFirst={() => setCursors([])} onNext={(c) => setCursors([...cursors, c])} />
    </div>
  );
}

export function Exclusions({ groupId, editable, changed, onChanged }: ListProps & { editable: boolean; onChanged(): void }) {
  const list = useLoad(() => get<Page<Exclusion>>(`/groups/${enc(groupId)}/exclusions?limit=1000&include=user`), [groupId, changed]);
  const { error, change } = useUserListEdit(`/groups/${enc(groupId)}/exclusions`, () => (list.reload(), onChanged()));
  return (
    <div>
      <p class="hint">An excluded user is never a member, whatever the rule says.</p>
      {editable && <UserPicker label="Exclude a user" button="Exclude" onPick={(u: User) => change('PUT', u.externalId)} />}
      <Problem error={error ?? list.error} />
      <ul data-testid="exclusions">
        {list.data?.items.map((x) => (
          <li key={x.externalId}>
            <UserName id={x.externalId} user={x.user} /> since {when(x.createdAt)}{x.actor ? `, by ${actorWords(x.actor)}` : ''}{' '}
            {editable && (
              <button type="button" class="link" onClick={() => change('DELETE', x.externalId)}>
                Remove exclusion of {fullName(x.user, x.externalId)}
              </button>
            )}
          </li>
        ))}
      </ul>
      {list.data?.items.length === 0 && <p>No exclusions.</p>}
    </div>
  );
}

export function History({ groupId, changed }: ListProps) {
  const [cursors, setCursors] = useState<string[]>([]);
  const [who, setWho] = useState<User>();
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () => get<Page<HistoryEntry>>(`/groups/${enc(groupId)}/history${query({ cursor, limit: 50, include: 'user', externalId: who?.externalId })}`),
    [groupId, cursor, who?.externalId, changed],
  );
  return (
    <div>
      <UserPicker
        label="Only the history of"
        button="Show the history of"
        onPick={(u: User) => {
          setWho(u);
          setCursors([]);
          return true;
        }}
      />
      {who && (
        <p>
          The history of <UserName id={who.externalId} user={who} />{' '}
          <button type="button" onClick={() => (setWho(undefined), setCursors([]))}>
            Show everyone
          </button>
        </p>
      )}
      <Problem error={page.error} />
      <div class="table-wrap">
        <table data-testid="history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">User</th>
              <th scope="col">What</th>
              <th scope="col">Why</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.items.map((h, i) => (
              <tr key={i}>
                <td>{when(h.at)}</td>
                <td>
                  <UserName id={h.externalId} user={h.user} />
                </td>
                <td>
                  {h.action} ({h.source}
                  {h.ruleVersion !== undefined ? `, rule v${h.ruleVersion}` : ''})
                </td>
                <td>{h.reason}</td>
                <td title={h.actor}>{actorWords(h.actor)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.data?.items.length === 0 && <p>No history{who ? ` for ${fullName(who, who.externalId)}` : ''}.</p>}
      <Pager cursor={page.data?.nextCursor} atFirst={!cursors.length} onFirst={() => setCursors([])} onNext={(c) => setCursors([...cursors, c])} />
    </div>
  );
}

/** Adding a user to, or taking one out of, a group's list (members, exclusions): `path` + `/<externalId>`. */
function useUserListEdit(path: string, changed: () => void) {
  const [error, setError] = useState<ApiError>();
  /** True when the change was made. */
  const change = async (method: 'PUT' | 'DELETE', externalId: string): Promise<boolean> => {
    setError(undefined);
    try {
      await send(method, `${path}/${enc(externalId)}`);
      changed();
      return true;
    } catch (err) {
      setError(toApiError(err));
      return false;
    }
  };
  return { error, change };
}
