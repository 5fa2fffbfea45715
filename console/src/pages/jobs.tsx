// Jobs: the recent ones with their progress, refreshed while any runs; admins get the job dashboard.
import { useEffect } from 'preact/hooks';
import { get } from '../api.js';
import type { Job, Page } from '../types.js';
import { Problem, ProgressBar, useLoad, when } from '../ui.js';

/** A job's result in one line: its plain values (counts, ids), not its nested detail. */
function summary(result: Record<string, unknown>): string {
  return Object.entries(result)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(' · ');
}

export function JobsPage({ admin }: { admin: boolean }) {
  const jobs = useLoad(() => get<Page<Job>>('/jobs?limit=50'), []);
  const active = jobs.data?.items.some((j) => j.status === 'queued' || j.status === 'running');
  useEffect(() => {
    if (!active) return;
    const timer = setTimeout(jobs.reload, 1000);
    return () => clearTimeout(timer);
  }, [jobs.data]);
  return (
    <section>
      <h1>Jobs</h1>
      {admin && (
        <p>
          Scheduling, retries and the raw queue: <a href="/dashboard">the job dashboard</a>.
        </p>
      )}
      <button type="button" onClick={jobs.reload}>
        Refresh
      </button>
      <Problem error={jobs.error} />
      {jobs.loading && !jobs.data && <p>Loading…</p>}
      {jobs.data?.items.length === 0 && <p>No jobs yet.</p>}
      <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Started</th>
            <th scope="col">Progress</th>
          </tr>
        </thead>
        <tbody>
          {jobs.data?.items.map((j) => (
            <tr key={j.id}>
              <td>
                {j.name}
                <br />
                <small>{j.id}</small>
              </td>
              <td>{when(j.startedAt ?? j.createdAt)}</td>
              <td>
                <ProgressBar job={j} />
                {j.result && <small class="result">{summary(j.result)}</small>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}
