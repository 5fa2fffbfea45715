// The full sync of every automatic group (`POST /api/v1/sync`, and nightly): fixes the run's partitions, fans
// out one partition job each (deterministic ids: a re-run of this job enqueues nothing twice), follows their
// progress, and sets every group's state and exact member count from their results.
import type { JobsDeps } from './index.js';
import { JobRunModel, type JobRunDoc } from './job-run.model.js';
import { SYNC_PARTITION_JOB, type SyncPartitionJobData } from './sync-partition.job.js';
import { finishRun, markRunStarted, partitionCount, prepareRun, type FullSyncResult, type PartitionResult } from '../membership/full-sync.js';
import type { JobContext } from './scheduler.js';
import { db } from '../platform/db/index.js';
import { syncLockLifetimeMs, timedSync, valveOf } from './sync-settings.js';
import { SNAPSHOT_BUILD_JOB } from './snapshot-build.job.js';
import type { Collection } from 'mongodb';

export const SYNC_ALL_JOB = 'sync-all';

export interface SyncAllJobData {
  /** How many partitions; by default one per 20,000 users. */
  partitions?: number;
}

export const partitionJobId = (runId: string, index: number): string => `${runId}:p${index}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function defineSyncAllJob({ scheduler, config, metrics }: JobsDeps): void {
  scheduler.define<SyncAllJobData>({
    name: SYNC_ALL_JOB,
    concurrency: 1,
    // Waiting is progress: the lock is extended at every poll.
    lockLifetimeMs: syncLockLifetimeMs(config),
    run: (data, ctx) => timedSync(metrics, 'full', () => runFullSync(data, ctx)),
  });

  async function runFullSync(data: SyncAllJobData, ctx: JobContext): Promise<FullSyncResult> {
    const run = await prepareRun(ctx.jobId, data.partitions);
    await markRunStarted(run, ctx.jobId);
    const n = partitionCount(run);
    const ids = Array.from({ length: n }, (_, i) => partitionJobId(run._id, i));
    for (let i = 0; i < n; i++) {
      await ctx.enqueue<SyncPartitionJobData>(SYNC_PARTITION_JOB, { runId: run._id, index: i }, { jobId: ids[i]!, actor: `job:${SYNC_ALL_JOB} (${ctx.jobId})` });
    }
    const jobs = JobRunModel.collection as unknown as Collection<JobRunDoc>;
    let records: Map<string, JobRunDoc>;
    for (;;) {
      records = await db().readByIds(jobs, ids);
      const done = [...records.values()].reduce((sum, r) => sum + (r.status === 'completed' ? (r.result as PartitionResult | undefined)?.users ?? 0 : r.progress?.done ?? 0), 0);
      const finished = ids.every((id) => ['completed', 'failed'].includes(records.get(id)?.status ?? ''));
      await ctx.progress(Math.min(done, run.users), run.users);
      if (finished) break;
      await sleep(Math.max(100, config.jobPollMs));
    }
    const results = ids.map((id) => {
      const r = records.get(id);
      return r?.status === 'completed' ? ((r.result as PartitionResult | null) ?? null) : null;
    });
    const summary = await finishRun(run, results, valveOf(config));
    await ctx.enqueue(SNAPSHOT_BUILD_JOB, {}, { jobId: `${ctx.jobId}:snapshot`, actor: `job:${SYNC_ALL_JOB} (${ctx.jobId})` });
    await ctx.progress(run.users, run.users);
    if (summary.failedPartitions.length) {
      const reasons = summary.failedPartitions.map((i) => `partition ${i}: ${records.get(ids[i]!)?.error ?? 'failed'}`);
      throw new Error(`the full sync did not finish: ${reasons.join('; ')}`);
    }
    return summary;
  }
}
