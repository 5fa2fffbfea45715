// One group: its state and actions (pause, sync now with progress, held removals), the next change by time, the
// groups whose rules name it ("used by"), the rule editor, explain, and the members, exclusions and history tabs.
// The page follows the server: while a sync is queued or running it reads the group again every second, it reads
// it again just after its next time-based change, and the tabs read their lists again whenever the group changed.
import { useEffect, useState } from 'preact/hooks';
import { enc, get, send, type ApiError } from '../api.js';
import type { Group, GroupRef } from '../types.js';
import { instantWords } from '../instants.js';
import { Problem, ProgressBar, toApiError, useJob, useLoad, usePolling, when } from '../ui.js';
import { syncLabel } from './groups.js';
import { RuleEditor } from './group-rule.js';
import { ExplainUser } from './explain.js';
import { Exclusions, History, Members } from './group-lists.js';

/** How often a group whose sync is queued or running is read again. */
const FOLLOW_MS = 1000;

const TABS = ['members', 'exclusions', 'history'] as const;

/** How long after its next time-based change the page reads the group again (the flip lands within 5 s of it). */
const AFTER_CHANGE_MS = 6000;
/** Further than this, no timer waits for the next change (the page is rarely open that long). */
const FOLLOW_CHANGE_WITHIN_MS = 24 * 3600_000;

/** What changes when the group's members or history change: the lists below read again when it does. */
const changeMark = (g: Group) => [g.memberCount, g.sync?.lastChangeAt, g.sync?.lastSyncAt, g.sync?.state, g.ruleVersion, g.paused, g.updatedAt].join('|');

/** The next time-based change in words: local time and UTC, or "none" (a paused group changes nothing by time). */
export function nextChangeWords(g: Group): string {
  if (g.sync?.nextChangeAt) return instantWords(g.sync.nextChangeAt);
  return g.paused ? 'none (the group is paused)' : 'none';
}

export function GroupPage({ id, editable }: { id: string; editable: boolean }) {
  const group = useLoad(() => get<Group>(`/groups/${enc(id)}`), [id]);
  const [tab, setTab] = useState<(typeof TABS)[number]>('members');
  const [explain, setExplain] = useState<{ externalId: string; n: number }>();
  const g = group.data;
  const busy = g?.sync?.state === 'queued' || g?.sync?.state === 'running';
  usePolling(busy, FOLLOW_MS, group.reload);
  const nextChangeAt = g?.sync?.nextChangeAt;
  useEffect(() => {
    if (!nextChangeAt) return;
    const wait = new Date(nextChangeAt).getTime() - Date.now() + AFTER_CHANGE_MS;
    if (!(wait < FOLLOW_CHANGE_WITHIN_MS)) return;
    const timer = setTimeout(group.reload, Math.max(wait, 0));
    return () => clearTimeout(timer);
  }, [nextChangeAt]);
  if (group.error && !g) return <Problem error={group.error} />;
  if (!g) return <p>Loading…</p>;
  const mark = changeMark(g);
  return (
    <section>
      <p>
        <a href="#/groups">← Groups</a>
      </p>
      <h1>{g.name}</h1>
      {g.description && <p>{g.description}</p>}
      <GroupStatus group={g} editable={editable} onChanged={group.reload} />
      {g.usedBy && <UsedBy groups={g.usedBy} />}
      {g.type === 'automatic' && <RuleEditor group={g} editable={editable} onSaved={group.reload} />}
      <ExplainUser key={explain ? `${explain.externalId}:${explain.n}` : ''} groupId={g.id} initial={explain?.externalId ?? ''} />
      <div role="group" aria-label="Group details" class="tabs">
        {TABS.map((t) => (
          <button key={t} type="button" aria-pressed={tab === t} onClick={() => setTab(t)}>
            {t[0]!.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div>
        {tab === 'members' && (
          <Members
            groupId={g.id}
            editable={editable}
            changed={mark}
            onChanged={group.reload}
            onExplain={(x) => {
              setExplain((e) => ({ externalId: x, n: (e?.n ?? 0) + 1 }));
              document.getElementById('explain')?.scrollIntoView();
            }}
          />
        )}
        {tab === 'exclusions' && <Exclusions groupId={g.id} editable={editable} changed={mark} onChanged={group.reload} />}
        {tab === 'history' && <History groupId={g.id} changed={mark} />}
      </div>
    </section>
  );
}

/** The groups whose rules name this one ("member of" conditions): a change here changes them too. */
function UsedBy({ groups }: { groups: GroupRef[] }) {
  return (
    <section class="card used-by" aria-label="Used by">
      <h2>Used by</h2>
      {groups.length === 0 ? (
        <p class="hint">No group's rule names this group.</p>
      ) : (
        <>
          <p class="hint">These groups' rules name this group: its members changing changes theirs, and it cannot be deleted while they do.</p>
          <ul data-testid="used-by">
            {groups.map((u) => (
              <li key={u.id}>
                <a href={`#/groups/${enc(u.id)}`}>{u.name}</a>
              </li>
            ))}
          </ul>
        </>
      )}
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
      onChanged();
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
            <dt>Next change by time</dt>
            <dd data-testid="next-change">{nextChangeWords(g)}</dd>
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
