// Member sources besides the hand edit: copy from a group or a branch (POST /groups/{id}/members/copy) and the CSV
// association upload (POST /groups/{id}/members/import). Mounted by groups.routes.ts.
import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf, requirePermission } from '../platform/auth.js';
import { joiErrors, validate, withRequestSchemas } from '../platform/validate.js';
import { csvOnly, csvText } from '../platform/csv-body.js';
import { ValidationError } from '../platform/errors.js';
import { importMembersCsv } from '../membership/members-import.js';
import { checkCopySource, copyContext, copySourceUsers, copyUsers, type CopySource } from '../membership/members-copy.js';
import { MEMBERS_COPY_JOB, type MembersCopyJobData } from '../jobs/members-copy.job.js';
import { groupParams } from './groups.schema.js';
import { copyBodySchema, copySourceErrors } from './members-sources.schema.js';
import { requireGroup } from './groups.service.js';

/** validate() would refuse the CSV body (it takes JSON bodies): the path alone is checked here. */
const importParams: RequestHandler = withRequestSchemas((req, _res, next) => {
  const params = groupParams.validate(req.params, { abortEarly: false });
  if (params.error) throw new ValidationError(`The request has ${params.error.details.length} invalid field${params.error.details.length > 1 ? 's' : ''}.`, joiErrors(params.error));
  next();
}, { params: groupParams });

export function membersSourcesRoutes({ scheduler, metrics, config }: RouteDeps): Router {
  const router = Router();

  router.post('/groups/:id/members/copy', requirePermission('members:write'), validate({ params: groupParams, body: copyBodySchema }), async (req, res) => {
    const body = req.body as { fromGroup?: string; fromBranch?: string };
    const errors = copySourceErrors(body);
    if (errors.length) throw new ValidationError('Name exactly one source: fromGroup or fromBranch.', errors);
    const source = body as CopySource;
    const group = await requireGroup(req.params.id as string);
    await checkCopySource(source);
    const actor = actorOf(req.principal);
    const { users, more } = await copySourceUsers(source, config.copyJobThreshold);
    if (more) {
      const data: MembersCopyJobData = { groupId: group._id, actor, ...source };
      const jobId = await scheduler.enqueue(MEMBERS_COPY_JOB, data, { actor, jobId: `${MEMBERS_COPY_JOB}:${randomUUID()}` });
      res.status(202).location(`/api/v1/jobs/${jobId}`).json({ jobId });
      return;
    }
    res.json(await copyUsers(group, users, copyContext(source, actor, `copy:${randomUUID()}`, new Date(), metrics)));
  });

  router.post('/groups/:id/members/import', requirePermission('members:write'), csvOnly('the members'), csvText, importParams, async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    res.json(await importMembersCsv(group, typeof req.body === 'string' ? req.body : '', actorOf(req.principal), metrics));
  });

  return router;
}
