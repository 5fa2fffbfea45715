// The class group sync's HTTP surface: a course's settings. Its groups are groups (GET /groups?course={code}).
import { Router } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf, requirePermission } from '../platform/auth.js';
import { validate } from '../platform/validate.js';
import { courseParams } from '../directory/directory.schema.js';
import { classSyncBodySchema } from './class-sync.schema.js';
import { getClassSync, putClassSync, type ClassSyncInput } from './class-sync.service.js';

export { classSyncOpenApi, classSyncSchemas } from './class-sync.openapi.js';

export function classSyncRoutes(deps: RouteDeps): Router {
  const router = Router();

  router.get('/courses/:code/class-sync', requirePermission('groups:read'), validate({ params: courseParams }), async (_req, res) => {
    res.json(await getClassSync(res.locals.params.code as string, deps.clock.now()));
  });

  router.put('/courses/:code/class-sync', requirePermission('groups:write'), validate({ params: courseParams, body: classSyncBodySchema }), async (req, res) => {
    const body = req.body as { enabled: boolean; endsAt?: string | null };
    const input: ClassSyncInput = { enabled: body.enabled, ...(body.endsAt !== undefined ? { endsAt: body.endsAt === null ? null : new Date(body.endsAt) } : {}) };
    const { view, created, jobId } = await putClassSync(res.locals.params.code as string, input, actorOf(req.principal), deps.scheduler, deps.clock.now());
    res.status(created ? 201 : 200).json({ ...view, ...(jobId ? { jobId } : {}) });
  });

  return router;
}
