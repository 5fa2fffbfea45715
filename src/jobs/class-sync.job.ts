// Sync one course's class groups (src/class-sync): at enabling, nightly, and on POST /groups/{id}/sync of any of
// them (with `confirmRemovals` to release removals the safety valve held). Skipped when the course's sync is not
// active when the job runs. The nightly run (nightly-sync.job.ts) starts CLASS_SYNC_ALL_JOB, which starts one per
// active course, named by course and cron occurrence, so that a re-run starts nothing new.
import type { JobsDeps } from '../service-deps.js';
import { activeClassSyncCourses, CLASS_SYNC_JOB, runClassSync, startClassSync, type ClassSyncJobData } from '../class-sync/class-sync.service.js';
import { timedSync, valveOf } from './sync-settings.js';

export { CLASS_SYNC_JOB };
export const CLASS_SYNC_ALL_JOB = 'class-sync-all';

export interface ClassSyncAllJobData {
  /** The nightly cron occurrence (ISO), which names each course's job. */
  occurrence: string;
}

export function defineClassSyncJob({ scheduler, config, metrics, clock }: JobsDeps): void {
  scheduler.define<ClassSyncJobData>({
    name: CLASS_SYNC_JOB,
    concurrency: 2,
    async run(data, ctx) {
      return timedSync(metrics, 'class', () =>
        runClassSync(data.course, {
          jobId: ctx.jobId,
          at: ctx.queuedAt,
          actor: `job:${CLASS_SYNC_JOB} (${ctx.jobId})`,
          confirmRemovals: data.confirmRemovals === true,
          valve: valveOf(config),
          metrics,
          progress: ctx.progress,
          now: clock.now(),
        }),
      );
    },
  });

  scheduler.define<ClassSyncAllJobData>({
    name: CLASS_SYNC_ALL_JOB,
    concurrency: 1,
    async run(data) {
      const jobs: string[] = [];
      for (const course of await activeClassSyncCourses(clock.now())) {
        jobs.push(await startClassSync(scheduler, course, { actor: 'schedule', jobId: `${CLASS_SYNC_JOB}:${course}:nightly:${data.occurrence}` }));
      }
      return { courses: jobs.length, jobs };
    },
  });
}
