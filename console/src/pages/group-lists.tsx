// A group's paged lists: members (by source, CSV export, added and removed by hand), exclusions, history.
import { useState } from 'preact/hooks';
import { ApiError, enc, get, query, send } from '../api.js';
import type { HistoryEntry, Member, Page } from '../types.js';
import { Pager, Problem, toApiError, useLoad, when } from '../ui.js';

const SOURCES = ['rule', 'manual', 'key', 'default', 'csv', 'copy', 'class'];

export function Members({ groupId, editable, onChanged, onExplain }: { groupId: string; editable: boolean; onChanged(): void; onExplain(externalId: string): void }) {
  const [source, setSource] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(() => get<Page<Member>>(`/groups/${enc(groupId)}/members${query({ source, cursor, limit: 50 })}`), [groupId, source, cursor]);
  const { error, change } = useUserListEdit(`/groups/${enc(groupId)}/members`, () => {
    page.reload();
    onChanged();
  });
  return (
    <div>
      {editable && <ExternalIdForm label="Add a member by hand (externalId)" button="Add member" onSubmit={(externalId) => change('PUT', externalId)} />}
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

export function Exclusions({ groupId, editable }: { groupId: string; editable: boolean }) {
  const list = useLoad(() => get<Page<{ externalId: string; at?: string; createdAt?: string; actor?: string }>>(`/groups/${enc(groupId)}/exclusions?limit=1000`), [groupId]);
  const { error, change } = useUserListEdit(`/groups/${enc(groupId)}/exclusions`, () => list.reload());
  return (
    <div>
      <p class="hint">An excluded user is never a member, whatever the rule says.</p>
      {editable && <ExternalIdForm label="Exclude user (externalId)" button="Exclude" onSubmit={(externalId) => change('PUT', externalId)} />}
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

export function History({ groupId }: { groupId: string }) {
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

/** A one-field form naming a user by externalId; emptied once its change is made. */
function ExternalIdForm({ label, button, onSubmit }: { label: string; button: string; onSubmit(externalId: string): Promise<boolean> }) {
  const [who, setWho] = useState('');
  return (
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit(who.trim()).then((done) => done && setWho(''));
      }}
    >
      <label>
        {label}
        <input required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">{button}</button>
    </form>
  );
}
