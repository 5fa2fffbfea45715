// Jobs: the recent ones in words ("Sync of Sales"), failures first, with their progress, refreshed while any
// runs; admins get the job dashboard.
import { get } from '../api.js';
import type { Job, Page } from '../types.js';
import { Problem, ProgressBar, jobKind, useLoad, usePolling, when } from '../ui.js';

/** A job's result in one line: its plain values (counts, ids), not its nested detail. */
function summary(result: unknown): string {
  if (!result || typeof result !== 'object') return '';
  return Object.entries(result as Record<string, unknown>)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(' · ');
}

const failedFirst = (jobs: Job[]) => [...jobs.filter((j) => j.status === 'failed'), ...jobs.filter((j) => j.status !== 'failed')];

export function JobsPage({ admin }: { admin: boolean }) {
  const jobs = useLoad(() => get<Page<Job>>('/jobs?limit=50'), []);
  const failed = useLoad(() => get<Page<Job>>('/jobs?status=failed&limit=20'), []);
  const active = !!jobs.data?.items.some((j) => j.status === 'queued' || j.status === 'running');
  usePolling(active, 1000, jobs.reload);
  // Failures first: the recent failed ones (even when older than the page of recent jobs), then the rest.
  const seen = new Set<string>();
  const shown = failedFirst([...(failed.data?.items ?? []), ...(jobs.data?.items ?? [])]).filter((j) => !seen.has(j.id) && (seen.add(j.id), true));
  return (
    <section>
      <h1>Jobs</h1>
      {admin && (
        <p>
          Scheduling, retries and the raw queue: <a href="/dashboard">the job dashboard</a>.
        </p>
      )}
      <button type="button" onClick={() => (jobs.reload(), failed.reload())}>
        Refresh
      </button>
      <Problem error={jobs.error ?? failed.error} />
      {jobs.loading && !jobs.data && <p>Loading…</p>}
      {jobs.data && shown.length === 0 && <p>No jobs yet.</p>}
      <div class="table-wrap">
        <table data-testid="jobs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Started</th>
              <th scope="col">Progress</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((j) => (
              <tr key={j.id} class={j.status === 'failed' ? 'failed' : ''}>
                <td>
                  {j.groupId && j.groupName ? <a href={`#/groups/${encodeURIComponent(j.groupId)}`}>{jobKind(j)}</a> : jobKind(j)}
                  <br />
                  <small class="id">{j.id}</small>
                </td>
                <td>{when(j.startedAt ?? j.createdAt)}</td>
                <td>
                  <ProgressBar job={j} />
                  {j.result !== undefined && <small class="result">{summary(j.result)}</small>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
