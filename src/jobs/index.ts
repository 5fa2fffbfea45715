// Every job this service runs, defined in one place. Each job lives in its own file under jobs/ with a name
// constant and an idempotent handler that calls services.
import type { JobsDeps } from '../service-deps.js';
import { defineSyncGroupJob } from './sync-group.job.js';
import { defineSyncAllJob } from './sync-all.job.js';
import { defineSyncPartitionJob } from './sync-partition.job.js';
import { defineNightlySyncJob, scheduleNightlySync } from './nightly-sync.job.js';
import { defineSnapshotBuildJob } from './snapshot-build.job.js';
import { defineSnapshotRefreshJob, scheduleSnapshotRefresh } from './snapshot-refresh.job.js';
import { defineReactionReplayJob, scheduleReactionSweep } from './reaction-replay.job.js';
import { defineGroupEnrollJob } from './group-enroll.job.js';
import { defineClassSyncJob } from './class-sync.job.js';
import { defineMembersCopyJob } from './members-copy.job.js';
import { defineTimeFlipsJob, scheduleTimeFlips } from './time-flips.job.js';

export function defineJobs(deps: JobsDeps): void {
  defineSyncGroupJob(deps);
  defineSyncAllJob(deps);
  defineSyncPartitionJob(deps);
  defineNightlySyncJob(deps);
  defineSnapshotBuildJob(deps);
  defineSnapshotRefreshJob(deps);
  defineReactionReplayJob(deps);
  defineGroupEnrollJob(deps);
  defineClassSyncJob(deps);
  defineMembersCopyJob(deps);
  defineTimeFlipsJob(deps);
}

/** Recurring schedules; created by processes that run jobs. */
export async function scheduleRecurringJobs(deps: JobsDeps): Promise<void> {
  await scheduleNightlySync(deps);
  await scheduleSnapshotRefresh(deps);
  await scheduleReactionSweep(deps);
  await scheduleTimeFlips(deps);
}
