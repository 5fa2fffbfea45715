// A copy of members too large to do in the request (POST /groups/{id}/members/copy over COPY_JOB_THRESHOLD users).
// Idempotent: the writes carry the job's id and the instant it was queued, so a second run (two workers, or a
// worker that died) inserts nothing new and completes the history of what the first run inserted.
import type { JobsDeps } from '../service-deps.js';
import { GroupModel, type GroupDoc } from '../groups/group.model.js';
import { copyContext, copySourceUsers, copyUsers, type CopySource } from '../membership/members-copy.js';

export const MEMBERS_COPY_JOB = 'members-copy';

export type MembersCopyJobData = { groupId: string; actor: string } & CopySource;

export function defineMembersCopyJob({ scheduler, metrics }: JobsDeps): void {
  scheduler.define<MembersCopyJobData>({
    name: MEMBERS_COPY_JOB,
    concurrency: 1,
    async run(data, ctx) {
      const group = await GroupModel.findById(data.groupId).lean<GroupDoc>();
      if (!group) throw new Error(`group ${data.groupId} was deleted before the copy ran`);
      const source: CopySource = data.fromGroup !== undefined ? { fromGroup: data.fromGroup } : { fromBranch: data.fromBranch! };
      const { users } = await copySourceUsers(source);
      await ctx.progress(0, users.length);
      return copyUsers(group, users, copyContext(source, data.actor, `copy:${ctx.jobId}`, ctx.queuedAt, metrics), ctx.progress);
    },
  });
}
