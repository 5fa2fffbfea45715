// One partition of a full sync: a range of externalIds against every active automatic group. Safe to run twice,
// or twice at once: the range is fixed by the run, and every write is idempotent. The last partition to finish
// finishes the run (full-sync-run.ts).
import type { JobsDeps } from '../service-deps.js';
import { SyncRunModel, type SyncRunDoc } from '../membership/group-state.model.js';
import { syncPartition } from '../membership/full-sync.js';
import { timedSync, valveOf } from './sync-settings.js';
import { finishRunIfLast } from './full-sync-run.js';

export const SYNC_PARTITION_JOB = 'sync-partition';

export interface SyncPartitionJobData {
  runId: string;
  index: number;
}

export function defineSyncPartitionJob({ scheduler, config, metrics }: JobsDeps): void {
  scheduler.define<SyncPartitionJobData>({
    name: SYNC_PARTITION_JOB,
    concurrency: 2,
    async run(data, ctx) {
      const run = await SyncRunModel.findById(data.runId).lean<SyncRunDoc>();
      if (!run) throw new Error(`sync run ${data.runId} not found`);
      return timedSync(metrics, 'partition', () =>
        syncPartition(run, data.index, {
          jobId: ctx.jobId,
          actor: `job:${SYNC_PARTITION_JOB} (${ctx.jobId})`,
          valve: valveOf(config),
          metrics,
          progress: ctx.progress,
        }),
      );
    },
    async afterFinish(data, ctx) {
      await finishRunIfLast(data.runId, { valve: valveOf(config), metrics, enqueue: ctx.enqueue, logger: ctx.logger });
    },
  });
}
