// Sync one course's class groups (src/class-sync): at enabling, nightly, and on POST /groups/{id}/sync of any of
// them (with `confirmRemovals` to release removals the safety valve held). Skipped when the course's sync is not
// active when the job runs.
import type { JobsDeps } from '../service-deps.js';
import { JobRunModel } from './job-run.model.js';
import { CLASS_SYNC_JOB, runClassSync, type ClassSyncJobData } from '../class-sync/class-sync.service.js';
import { syncLockLifetimeMs, timedSync, valveOf } from './sync-settings.js';

export { CLASS_SYNC_JOB };

export function defineClassSyncJob({ scheduler, config, metrics }: JobsDeps): void {
  scheduler.define<ClassSyncJobData>({
    name: CLASS_SYNC_JOB,
    concurrency: 2,
    lockLifetimeMs: syncLockLifetimeMs(config),
    async run(data, ctx) {
      // The instant the job was queued stamps its writes: a re-run of this job writes the very same documents.
      const record = await JobRunModel.findById(ctx.jobId, { createdAt: 1 }).lean<{ createdAt?: Date }>();
      return timedSync(metrics, 'class', () =>
        runClassSync(data.course, {
          jobId: ctx.jobId,
          at: record?.createdAt ?? new Date(),
          actor: `job:${CLASS_SYNC_JOB} (${ctx.jobId})`,
          confirmRemovals: data.confirmRemovals === true,
          valve: valveOf(config),
          metrics,
          progress: ctx.progress,
        }),
      );
    },
  });
}
