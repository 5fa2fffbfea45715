// Groups: the list (type, members, sync state, last change, next change by time, failed or held), a search by name,
// and creating one.
import { useState } from 'preact/hooks';
import { ApiError, get, send } from '../api.js';
import type { Group, Page } from '../types.js';
import { Problem, toApiError, useLoad, when } from '../ui.js';

export function syncLabel(g: Group): string {
  if (g.type === 'manual') return 'manual';
  if (g.paused) return 'paused';
  if (g.sync?.heldRemovals) return `held (${g.sync.heldRemovals} removals)`;
  return g.sync?.state ?? 'idle';
}

export function GroupsPage({ editable }: { editable: boolean }) {
  const [search, setSearch] = useState('');
  const [type, setType] = useState('');
  const groups = useLoad(() => get<Page<Group>>(`/groups?limit=1000${type ? `&type=${type}` : ''}`), [type]);
  const needle = search.trim().toLowerCase();
  const shown = (groups.data?.items ?? []).filter((g) => !needle || g.name.toLowerCase().includes(needle) || g.id === search.trim());
  return (
    <section>
      <h1>Groups</h1>
      <div class="row filters">
        <label>
          Search
          <input type="search" value={search} placeholder="name or id" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          <span id="groups-type-filter">Type</span>
          <select aria-labelledby="groups-type-filter" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            <option value="automatic">automatic</option>
            <option value="manual">manual</option>
          </select>
        </label>
      </div>
      <Problem error={groups.error} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Members</th>
              <th scope="col">Sync</th>
              <th scope="col">Last change</th>
              <th scope="col">Next change by time</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((g) => (
              <tr key={g.id} class={g.sync?.state === 'failed' ? 'failed' : ''}>
                <td>
                  <a href={`#/groups/${encodeURIComponent(g.id)}`}>{g.name}</a>
                </td>
                <td>{g.type}</td>
                <td class="num">{g.memberCount}</td>
                <td>
                  <span class={`state state-${g.sync?.state ?? g.type}`} title={g.sync?.lastError}>
                    {syncLabel(g)}
                  </span>
                </td>
                <td>{when(g.sync?.lastChangeAt ?? g.updatedAt)}</td>
                <td data-testid="next-change">{g.type === 'automatic' ? (g.sync?.nextChangeAt ? when(g.sync.nextChangeAt) : 'none') : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {groups.data && shown.length === 0 && <p>No groups match.</p>}
      {editable && <CreateGroup />}
    </section>
  );
}

/** A new group; an automatic one starts with a one-condition rule that the builder then shapes. */
export function CreateGroup({ initialName = '', rule, onCreated }: { initialName?: string; rule?: unknown; onCreated?(g: Group): void }) {
  const [name, setName] = useState(initialName);
  const [description, setDescription] = useState('');
  const [type, setType] = useState<'automatic' | 'manual'>('automatic');
  const [error, setError] = useState<ApiError>();
  return (
    <form
      class="card create-group"
      aria-label="Create a group"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        try {
          const body = {
            name,
            ...(description ? { description } : {}),
            type,
            ...(type === 'automatic' ? { rule: rule ?? { conditions: { all: [{ fact: 'user', path: '$.type', operator: 'equal', value: 'staff' }] } }, paused: rule === undefined } : {}),
          };
          const g = await send<Group>('POST', '/groups', body);
          if (onCreated) onCreated(g);
          else location.hash = `#/groups/${encodeURIComponent(g.id)}`;
        } catch (err) {
          setError(toApiError(err));
        }
      }}
    >
      <h2>Create a group</h2>
      <label>
        Name
        <input name="name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Description
        <input name="description" value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
      </label>
      {rule === undefined && (
        <label>
          <span id="new-group-type">Type</span>
          <select aria-labelledby="new-group-type" name="type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value as 'automatic' | 'manual')}>
            <option value="automatic">automatic (rule)</option>
            <option value="manual">manual</option>
          </select>
        </label>
      )}
      {rule === undefined && type === 'automatic' && <p class="hint">It starts paused with a simple rule: shape the rule with the preview, then resume it.</p>}
      <button type="submit">Create group</button>
      <Problem error={error} />
    </form>
  );
}
