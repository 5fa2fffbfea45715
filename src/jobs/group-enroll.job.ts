// Enrol a group's members in the group's courses, or remove the enrolments the group made (groups/group-courses.ts).
// Idempotent and safe on two workers at once: see group-courses.ts. A worker killed mid-way leaves the lock to
// expire (as soon as a sync's would) and another worker runs the job again, which finds the done part done.
import type { JobsDeps } from '../service-deps.js';
import { GROUP_ENROLL_JOB, runGroupEnrollment, type GroupEnrollJobData } from '../groups/group-courses.js';

export { GROUP_ENROLL_JOB };

export function defineGroupEnrollJob({ scheduler }: JobsDeps): void {
  scheduler.define<GroupEnrollJobData>({
    name: GROUP_ENROLL_JOB,
    concurrency: 2,
    async run(data, ctx) {
      return runGroupEnrollment(data.groupId, data.action, {
        at: ctx.queuedAt,
        actor: `job:${GROUP_ENROLL_JOB} (${ctx.jobId})`,
        logger: ctx.logger,
        progress: ctx.progress,
      });
    },
  });
}
