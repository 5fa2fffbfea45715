// The full sync of every automatic group (`POST /api/v1/sync`, and nightly): fixes the run's partitions, fans out
// one partition job each (deterministic ids: a re-run of this job enqueues nothing twice) and hands its record off.
// Nothing waits: the last partition to finish finishes the run (full-sync-run.ts).
import type { JobsDeps } from '../service-deps.js';
import { SYNC_PARTITION_JOB, type SyncPartitionJobData } from './sync-partition.job.js';
import { markRunStarted, partitionCount, prepareRun } from '../membership/full-sync.js';
import { FULL_SYNC_JOB, finishRunIfLast, partitionJobId } from './full-sync-run.js';
import { valveOf } from './sync-settings.js';

export const SYNC_ALL_JOB = FULL_SYNC_JOB;

export interface SyncAllJobData {
  /** How many partitions; by default as many as the database adapter's users per partition make. */
  partitions?: number;
}

export function defineSyncAllJob({ scheduler, config, metrics }: JobsDeps): void {
  scheduler.define<SyncAllJobData>({
    name: SYNC_ALL_JOB,
    concurrency: 1,
    async run(data, ctx) {
      const run = await prepareRun(ctx.jobId, data.partitions);
      await markRunStarted(run, ctx.jobId);
      await ctx.progress(0, run.users);
      for (let i = 0; i < partitionCount(run); i++) {
        await ctx.enqueue<SyncPartitionJobData>(SYNC_PARTITION_JOB, { runId: run._id, index: i }, { jobId: partitionJobId(run._id, i), actor: `job:${SYNC_ALL_JOB} (${ctx.jobId})` });
      }
      ctx.handOff();
      // A re-run of this job after its partitions had all finished: nobody else is left to finish the run.
      await finishRunIfLast(run._id, { valve: valveOf(config), metrics, enqueue: ctx.enqueue, logger: ctx.logger });
    },
  });
}
