// Keeps the stored directory snapshot close to the change feed (SNAPSHOT_CRON, every 5 minutes by default): a
// preview catches up by reading again every user and membership the feed names since the stored snapshot, so after a
// busy day without previews that would be thousands of reads inside one request. This job does them in the
// background instead, and stores the result. Idempotent: a second run finds nothing new and stores nothing.
import type { JobsDeps } from '../service-deps.js';
import { refreshStoredSnapshot } from '../snapshot/directory-snapshot.js';

export const SNAPSHOT_REFRESH_JOB = 'snapshot-refresh';

export function defineSnapshotRefreshJob({ scheduler }: JobsDeps): void {
  scheduler.define<Record<string, never>>({
    name: SNAPSHOT_REFRESH_JOB,
    concurrency: 1,
    async run() {
      return refreshStoredSnapshot();
    },
  });
}

export async function scheduleSnapshotRefresh({ scheduler, config }: JobsDeps): Promise<void> {
  await scheduler.every(config.snapshotCron, SNAPSHOT_REFRESH_JOB);
}
