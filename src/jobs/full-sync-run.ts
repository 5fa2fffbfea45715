// How a full sync ends: by itself, when its last partition finishes. The parent job (sync-all) fixes the run's
// partitions, fans out one job each and hands its record off; every partition, once its own outcome is recorded,
// asks here whether it was the last. The one that finds every partition finished settles each group's state and
// exact count, queues the snapshot rebuild and completes the parent's record. Finishing twice (two partitions
// ending at once, or a partition re-run by another worker after its first worker died) writes the same: every step
// is idempotent, and the parent's completion is counted and logged once.
import type { Collection } from 'mongodb';
import { finishRun, partitionCount, type PartitionResult } from '../membership/full-sync.js';
import { SyncRunModel, type SyncRunDoc } from '../membership/group-state.model.js';
import type { SafetyValve } from '../membership/policy.js';
import { db } from '../platform/db/index.js';
import type { Metrics } from '../platform/metrics.js';
import { JobRunModel, type JobRunDoc } from './job-run.model.js';
import { settleJobRun, type JobContext } from './scheduler.js';
import { SNAPSHOT_BUILD_JOB } from './snapshot-build.job.js';
import { SYNC_GROUP_JOB } from './sync-group.job.js';

/** The name of the parent job (sync-all.job.ts); its record is the run's. */
export const FULL_SYNC_JOB = 'sync-all';

export const partitionJobId = (runId: string, index: number): string => `${runId}:p${index}`;

export interface FinishDeps {
  valve: SafetyValve;
  metrics?: Metrics;
  enqueue: JobContext['enqueue'];
  logger: JobContext['logger'];
}

const settled = (status: string | undefined) => status === 'completed' || status === 'failed';

/** Shows the run's progress on the parent's record and, when every partition has finished, finishes the run. */
export async function finishRunIfLast(runId: string, deps: FinishDeps): Promise<void> {
  const run = await SyncRunModel.findById(runId).lean<SyncRunDoc>();
  if (!run) return;
  const parent = await JobRunModel.findById(runId, { status: 1 }).lean<Pick<JobRunDoc, 'status'>>();
  if (settled(parent?.status)) return;
  const ids = Array.from({ length: partitionCount(run) }, (_, i) => partitionJobId(runId, i));
  const records = await db().readByIds(JobRunModel.collection as unknown as Collection<JobRunDoc>, ids);
  const resultOf = (id: string) => {
    const r = records.get(id);
    return r?.status === 'completed' ? ((r.result as PartitionResult | null) ?? null) : null;
  };
  const done = ids.reduce((sum, id) => sum + (resultOf(id)?.users ?? 0), 0);
  await JobRunModel.updateOne({ _id: runId }, { $set: { 'progress.done': Math.min(done, run.users), 'progress.total': run.users } });
  if (!ids.every((id) => settled(records.get(id)?.status))) return;

  const summary = await finishRun(run, ids.map(resultOf), deps.valve);
  // Groups whose rule changed under the run: synced again with the rule they have now (one job per group and run).
  for (const groupId of summary.stale) {
    await deps.enqueue(SYNC_GROUP_JOB, { groupId }, { jobId: `${runId}:resync:${groupId}`, actor: `job:${FULL_SYNC_JOB} (${runId})` });
  }
  await deps.enqueue(SNAPSHOT_BUILD_JOB, {}, { jobId: `${runId}:snapshot`, actor: `job:${FULL_SYNC_JOB} (${runId})` });
  await JobRunModel.updateOne({ _id: runId }, { $set: { 'progress.done': run.users, 'progress.total': run.users } });
  const outcome = summary.failedPartitions.length
    ? { error: `the full sync did not finish: ${summary.failedPartitions.map((i) => `partition ${i}: ${records.get(ids[i]!)?.error ?? 'failed'}`).join('; ')}` }
    : { result: summary };
  // Completing is idempotent (the same record, whoever writes it); counting it is not: the finisher whose insert of
  // the run's end marker wins counts and logs it (the one mutual exclusion every backend keeps, FERRETDB.md).
  const markers = SyncRunModel.collection as unknown as Collection<{ _id: string; at: Date }>;
  const first = (await db().insertIgnoringDuplicates(markers, [{ _id: `${runId}:finished`, at: run.at }])).size === 0;
  await settleJobRun(runId, FULL_SYNC_JOB, outcome, first ? deps.metrics : undefined);
  if (first) {
    const seconds = (Date.now() - run.at.getTime()) / 1000;
    deps.metrics?.syncDuration.observe({ kind: 'full', outcome: 'error' in outcome ? 'failed' : 'completed' }, seconds);
    // timeCorrections: what the nightly safety net had to correct in time-based groups (0 when every flip happened).
    deps.logger.info(
      { runId, durationMs: Math.round(seconds * 1000), timeCorrections: summary.timeCorrections, ...('error' in outcome ? { error: outcome.error } : {}) },
      'full sync finished by its last partition',
    );
  }
}
