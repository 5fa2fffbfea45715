// Enrol a group's members in the group's courses, or remove the enrolments the group made (groups/group-courses.ts).
// Idempotent and safe on two workers at once: see group-courses.ts. A worker killed mid-way leaves the lock to
// expire (as soon as a sync's would) and another worker runs the job again, which finds the done part done.
import type { JobsDeps } from '../service-deps.js';
import { JobRunModel } from './job-run.model.js';
import { GROUP_ENROLL_JOB, runGroupEnrollment, type GroupEnrollJobData } from '../groups/group-courses.js';

export { GROUP_ENROLL_JOB };

export function defineGroupEnrollJob({ scheduler }: JobsDeps): void {
  scheduler.define<GroupEnrollJobData>({
    name: GROUP_ENROLL_JOB,
    concurrency: 2,
    async run(data, ctx) {
      // The instant the job was queued stamps the enrolments: a re-run writes the very same documents.
      const record = await JobRunModel.findById(ctx.jobId, { createdAt: 1 }).lean<{ createdAt?: Date }>();
      return runGroupEnrollment(data.groupId, data.action, {
        at: record?.createdAt ?? new Date(),
        actor: `job:${GROUP_ENROLL_JOB} (${ctx.jobId})`,
        logger: ctx.logger,
        progress: ctx.progress,
      });
    },
  });
}
