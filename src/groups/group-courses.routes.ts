// A group's courses over HTTP: attach, detach, enrol the members, undo that (group-courses.ts).
import { Router } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf, requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { groupCourseParams, groupParams } from './groups.schema.js';
import { groupEtag } from './groups.service.js';
import { attachCourse, detachCourse, startGroupEnrollment, type GroupEnrollAction } from './group-courses.js';

export function groupCoursesRoutes({ scheduler }: RouteDeps): Router {
  const router = Router();

  router.put('/groups/:id/courses/:code', requirePermission('groups:write'), validate({ params: groupCourseParams }), async (req, res) => {
    const group = await attachCourse(req.params.id as string, req.params.code as string);
    res.set('ETag', groupEtag(group)).json(group);
  });

  router.delete('/groups/:id/courses/:code', requirePermission('groups:write'), validate({ params: groupCourseParams }), async (req, res) => {
    await detachCourse(req.params.id as string, req.params.code as string);
    res.status(204).end();
  });

  for (const action of ['enroll', 'unenroll'] as const satisfies readonly GroupEnrollAction[]) {
    router.post(`/groups/:id/${action}`, requirePermission('groups:write'), validate({ params: groupParams }), async (req, res) => {
      const jobId = await startGroupEnrollment(scheduler, req.params.id as string, action, actorOf(req.principal));
      res.status(202).location(`/api/v1/jobs/${jobId}`).json({ jobId });
    });
  }

  return router;
}
