// The nightly reconciliation (SYNC_CRON, in TIMEZONE): starts a full sync, which also catches time-based rules ("hired within
// the last 90 days") and any drift. The full sync's id is the cron occurrence, so two workers running the same
// occurrence start one sync. It also starts the class group sync of every course where that is active.
import { CronExpressionParser } from 'cron-parser';
import type { JobsDeps } from '../service-deps.js';
import { SYNC_ALL_JOB, type SyncAllJobData } from './sync-all.job.js';
import { CLASS_SYNC_ALL_JOB, type ClassSyncAllJobData } from './class-sync.job.js';

export const NIGHTLY_SYNC_JOB = 'nightly-sync';

export function defineNightlySyncJob({ scheduler, config }: JobsDeps): void {
  scheduler.define<Record<string, never>>({
    name: NIGHTLY_SYNC_JOB,
    concurrency: 1,
    async run(_data, ctx) {
      const occurrence = CronExpressionParser.parse(config.syncCron, { currentDate: new Date(Date.now() + 1000), tz: config.timeZone }).prev().toDate();
      const jobId = await ctx.enqueue<SyncAllJobData>(SYNC_ALL_JOB, {}, { jobId: `${SYNC_ALL_JOB}:nightly:${occurrence.toISOString()}`, actor: 'schedule' });
      // Every course whose class group sync is active, by a job that fans out one sync per course.
      const classSyncJobId = await ctx.enqueue<ClassSyncAllJobData>(CLASS_SYNC_ALL_JOB, { occurrence: occurrence.toISOString() }, { jobId: `${CLASS_SYNC_ALL_JOB}:nightly:${occurrence.toISOString()}`, actor: 'schedule' });
      return { jobId, classSyncJobId };
    },
  });
}

export async function scheduleNightlySync({ scheduler, config }: JobsDeps): Promise<void> {
  await scheduler.every(config.syncCron, NIGHTLY_SYNC_JOB, {}, config.timeZone);
}
