import { JobRunModel, type JobRunDoc } from './job-run.model.js';
import { type Page, type PageRequest, toPage } from '../platform/pagination.js';
import { GroupModel } from '../groups/group.model.js';

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
  /** The group the job works on, when it works on one, with its name (for people reading the list). */
  groupId?: string;
  groupName?: string;
  /** The course the job works on (a class group sync), when it works on one. */
  course?: string;
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
    ...(typeof dataOf(doc).groupId === 'string' ? { groupId: dataOf(doc).groupId as string } : {}),
    ...(typeof dataOf(doc).course === 'string' ? { course: dataOf(doc).course as string } : {}),
  };
}

const dataOf = (doc: JobRunDoc): Record<string, unknown> => (doc.data && typeof doc.data === 'object' ? (doc.data as Record<string, unknown>) : {});

/** The views with the names of the groups they work on (a deleted group has none). */
async function withGroupNames(views: JobView[]): Promise<JobView[]> {
  const ids = [...new Set(views.flatMap((v) => (v.groupId ? [v.groupId] : [])))];
  if (!ids.length) return views;
  const groups = await GroupModel.find({ _id: { $in: ids } }, { name: 1 }).lean<Array<{ _id: string; name: string }>>();
  const names = new Map(groups.map((g) => [g._id, g.name]));
  return views.map((v) => (v.groupId && names.has(v.groupId) ? { ...v, groupName: names.get(v.groupId)! } : v));
}

export async function getJobRun(id: string): Promise<JobView | null> {
  const doc = await JobRunModel.findById(id).lean<JobRunDoc>();
  return doc ? ((await withGroupNames([view(doc)]))[0] ?? null) : null;
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
  const paged = toPage(docs.map(view), page.limit, (j) => `${j.createdAt}|${j.id}`);
  return { ...paged, items: await withGroupNames(paged.items) };
}
