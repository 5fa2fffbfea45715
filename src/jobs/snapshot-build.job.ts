// Rebuilds the directory snapshot that previews read, from the users and memberships themselves, after every full
// sync: a full sync changes many memberships at once (cheaper to read again than to follow in the feed), and the
// rebuild also repairs any change whose writer died before entering it in the change feed. Running it twice only
// stores the same snapshot twice.
import type { JobsDeps } from '../service-deps.js';
import { buildSnapshotFromDatabase } from '../snapshot/directory-snapshot.js';

export const SNAPSHOT_BUILD_JOB = 'snapshot-build';

export function defineSnapshotBuildJob({ scheduler }: JobsDeps): void {
  scheduler.define<Record<string, never>>({
    name: SNAPSHOT_BUILD_JOB,
    concurrency: 1,
    async run(_data, ctx) {
      return buildSnapshotFromDatabase(ctx.progress);
    },
  });
}
