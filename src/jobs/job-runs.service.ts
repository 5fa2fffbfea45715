import { JobRunModel, type JobRunDoc } from './job-run.model.js';
import { type Page, type PageRequest, toPage } from '../platform/pagination.js';

export interface JobView {
  id: string;
  name: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  progress: { done: number; total: number };
  result?: unknown;
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

function view(doc: JobRunDoc): JobView {
  return {
    id: doc._id,
    name: doc.name,
    status: doc.status as JobView['status'],
    progress: { done: doc.progress?.done ?? 0, total: doc.progress?.total ?? 0 },
    ...(doc.result !== undefined && doc.result !== null ? { result: doc.result } : {}),
    ...(doc.error ? { error: doc.error } : {}),
    createdAt: doc.createdAt.toISOString(),
    ...(doc.startedAt ? { startedAt: doc.startedAt.toISOString() } : {}),
    ...(doc.finishedAt ? { finishedAt: doc.finishedAt.toISOString() } : {}),
  };
}

export async function getJobRun(id: string): Promise<JobView | null> {
  const doc = await JobRunModel.findById(id).lean<JobRunDoc>();
  return doc ? view(doc) : null;
}

/** Newest first; the cursor is the creation instant plus id of the last job shown. */
export async function listJobRuns(page: PageRequest, status?: string): Promise<Page<JobView>> {
  const filter: Record<string, unknown> = status ? { status } : {};
  if (page.after) {
    const [at, id] = page.after.split('|');
    const when = new Date(at ?? '');
    filter.$or = [{ createdAt: { $lt: when } }, { createdAt: when, _id: { $gt: id } }];
  }
  const docs = await JobRunModel.find(filter).sort({ createdAt: -1, _id: 1 }).limit(page.limit + 1).lean<JobRunDoc[]>();
  return toPage(docs.map(view), page.limit, (j) => `${j.createdAt}|${j.id}`);
}
