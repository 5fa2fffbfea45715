// Sync one automatic group against the whole directory: after a rule change, on creation, when its policy changes,
// and when an admin asks (with `confirmRemovals` to release removals the safety valve held).
import type { JobsDeps } from '../service-deps.js';
import { syncGroup } from '../membership/group-sync.js';
import { timedSync, valveOf } from './sync-settings.js';

export const SYNC_GROUP_JOB = 'sync-group';

export interface SyncGroupJobData {
  groupId: string;
  confirmRemovals?: boolean;
}

export function defineSyncGroupJob({ scheduler, config, metrics }: JobsDeps): void {
  scheduler.define<SyncGroupJobData>({
    name: SYNC_GROUP_JOB,
    concurrency: 2,
    async run(data, ctx) {
      return timedSync(metrics, 'group', () =>
        syncGroup(data.groupId, {
          jobId: ctx.jobId,
          at: ctx.queuedAt,
          actor: `job:${SYNC_GROUP_JOB} (${ctx.jobId})`,
          confirmRemovals: data.confirmRemovals === true,
          valve: valveOf(config),
          metrics,
          progress: ctx.progress,
        }),
      );
    },
  });
}
