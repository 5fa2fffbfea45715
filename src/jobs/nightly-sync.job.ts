// The nightly reconciliation (SYNC_CRON): starts a full sync, which also catches time-based rules ("hired within
// the last 90 days") and any drift. The full sync's id is the cron occurrence, so two workers running the same
// occurrence start one sync. It also starts the class group sync of every course where that is active.
import { CronExpressionParser } from 'cron-parser';
import type { JobsDeps } from '../service-deps.js';
import { SYNC_ALL_JOB, type SyncAllJobData } from './sync-all.job.js';
import { activeClassSyncCourses, startClassSync } from '../class-sync/class-sync.service.js';

export const NIGHTLY_SYNC_JOB = 'nightly-sync';

export function defineNightlySyncJob({ scheduler, config }: JobsDeps): void {
  scheduler.define<Record<string, never>>({
    name: NIGHTLY_SYNC_JOB,
    concurrency: 1,
    async run(_data, ctx) {
      const occurrence = CronExpressionParser.parse(config.syncCron, { currentDate: new Date(Date.now() + 1000), tz: 'UTC' }).prev().toDate();
      const jobId = await ctx.enqueue<SyncAllJobData>(SYNC_ALL_JOB, {}, { jobId: `${SYNC_ALL_JOB}:nightly:${occurrence.toISOString()}`, actor: 'schedule' });
      // Each course whose class group sync is active: one job per course and occurrence.
      const classJobs = [];
      for (const course of await activeClassSyncCourses()) {
        classJobs.push(await startClassSync(scheduler, course, { actor: 'schedule', jobId: `class-sync:${course}:nightly:${occurrence.toISOString()}` }));
      }
      return { jobId, ...(classJobs.length ? { classSyncJobs: classJobs } : {}) };
    },
  });
}

export async function scheduleNightlySync({ scheduler, config }: JobsDeps): Promise<void> {
  await scheduler.every(config.syncCron, NIGHTLY_SYNC_JOB);
}
