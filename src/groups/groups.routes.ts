// The groups' HTTP surface: groups, rules and their versions, syncs, members, exclusions, history, explain and
// preview. Each route reads as permission → validation → service → response.
import { Router } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf, requirePermission } from '../platform/auth.js';
import { roleAllows } from '../platform/roles.js';
import type { Principal } from '../platform/principal.js';
import { joinWithKey } from './group-keys.js';
import { checkScopedDelete, isScopedGroup } from './scoped-groups.js';
import { startClassSyncOfGroup } from '../class-sync/class-sync.service.js';
import { validate } from '../platform/validate.js';
import { pageQuerySchema, pageRequest } from '../platform/pagination.js';
import { ConflictError } from '../platform/errors.js';
import { validateRule } from '../rules/index.js';
import { graphIssues } from './group-graph.js';
import { ruleValidationContext } from './rule-check.js';
import { ValidationError } from '../platform/errors.js';
import type { MembershipSource } from '../membership/membership.model.js';
import {
  addExclusion,
  addMember,
  explainMembership,
  listExclusions,
  listHistory,
  listMembers,
  removeExclusion,
  removeMember,
} from '../membership/members.service.js';
import { writeMembersCsv } from '../membership/members-csv.js';
import { membersSourcesRoutes } from './members-sources.routes.js';
import { previewGroup } from '../membership/group-sync.js';
import { searchMembers } from '../membership/member-search.js';
import { userSummaries, withSampleUsers, withUsers } from '../directory/user-lookup.js';
import type { RuleDocument } from '../rules/index.js';
import {
  createGroupSchema,
  fullSyncBodySchema,
  groupKeyBodySchema,
  joinBodySchema,
  exclusionListQuery,
  groupListQuery,
  groupMemberParams,
  groupParams,
  groupSyncBodySchema,
  historyQuery,
  memberListQuery,
  patchGroupSchema,
  previewBodySchema,
  ruleBodySchema,
  type GroupInput,
  type GroupPatch,
} from './groups.schema.js';
import {
  createGroup,
  deleteGroup,
  getGroup,
  groupEtag,
  listGroups,
  listRuleVersions,
  makeGroupKey,
  putRule,
  requireGroup,
  ruleEtag,
  startFullSync,
  startGroupSync,
  updateGroup,
} from './groups.service.js';

import { groupCoursesRoutes } from './group-courses.routes.js';

export { groupsOpenApi, groupsSchemas } from './groups.openapi.js';

const idParams = groupParams;
/** The key itself is shown to those who may make one (admin and support, as API.md says). */
const readerOf = (p: Principal | undefined) => ({ showKey: p ? roleAllows(p.role, 'groups:write') : false });
const memberParams = groupMemberParams;
const pageQuery = pageQuerySchema;

/** How far in the past a preview's `at` may be and still count as now. */
const PREVIEW_AT_LAG_MS = 5000;

export function groupsRoutes(deps: RouteDeps): Router {
  const router = Router();
  const { scheduler, metrics, logger } = deps;

  router.post('/groups', requirePermission('groups:write'), validate({ body: createGroupSchema }), async (req, res) => {
    const { group, jobId, warnings } = await createGroup(req.body as GroupInput, actorOf(req.principal), scheduler);
    // The ETag of the created group, as GET /groups/{id} would send it now (jobId and warnings are not part of it).
    res.status(201).location(`/api/v1/groups/${group.id}`).set('ETag', groupEtag(group));
    res.json({ ...group, ...(jobId ? { jobId } : {}), ...(warnings.length ? { warnings } : {}) });
  });

  router.get(
    '/groups',
    requirePermission('groups:read'),
    validate({ query: groupListQuery }),
    async (req, res) => {
      const { type, priced, course } = res.locals.query as { type?: string; priced?: boolean; course?: string };
      res.json(await listGroups(pageRequest(res.locals.query), { ...(type ? { type } : {}), ...(priced !== undefined ? { priced } : {}), ...(course ? { course } : {}) }, readerOf(req.principal)));
    },
  );

  router.get('/groups/:id', requirePermission('groups:read'), validate({ params: idParams }), async (req, res) => {
    const group = await getGroup(req.params.id as string, readerOf(req.principal));
    // A strong tag of this very representation: If-None-Match answers 304 only while nothing in it changed.
    res.set('ETag', groupEtag(group)).json(group);
  });

  router.patch('/groups/:id', requirePermission('groups:write'), validate({ params: idParams, body: patchGroupSchema }), async (req, res) => {
    const { group, jobId } = await updateGroup(req.params.id as string, req.body as GroupPatch, actorOf(req.principal), scheduler, req.get('if-match'));
    res.set('ETag', groupEtag(group)).json({ ...group, ...(jobId ? { jobId } : {}) });
  });

  router.delete('/groups/:id', requirePermission('groups:write'), validate({ params: idParams }), async (req, res) => {
    checkScopedDelete(await requireGroup(req.params.id as string), req.principal);
    await deleteGroup(req.params.id as string, req.get('if-match'));
    res.status(204).end();
  });

  router.post('/groups/:id/key', requirePermission('groups:write'), validate({ params: idParams, body: groupKeyBodySchema }), async (req, res) => {
    res.json(await makeGroupKey(req.params.id as string, (req.body as { maxUses?: number }).maxUses));
  });

  router.post('/join', requirePermission('join'), validate({ body: joinBodySchema }), async (req, res) => {
    const { key, externalId } = req.body as { key: string; externalId: string };
    res.json(await joinWithKey(key, externalId, actorOf(req.principal), metrics));
  });

  router.get('/groups/:id/rule', requirePermission('groups:read'), validate({ params: idParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    if (group.type !== 'automatic') throw new ConflictError('A manual group has no rule.');
    res.set('ETag', ruleEtag(group.ruleVersion)).json({ version: group.ruleVersion, rule: group.rule });
  });

  router.put('/groups/:id/rule', requirePermission('groups:write'), validate({ params: idParams, body: ruleBodySchema }), async (req, res) => {
    const result = await putRule(req.params.id as string, (req.body as { rule: unknown }).rule, req.get('if-match'), actorOf(req.principal), scheduler);
    res.set('ETag', ruleEtag(result.version)).json({ ...result.group, ...(result.jobId ? { jobId: result.jobId } : {}), ...(result.warnings.length ? { warnings: result.warnings } : {}) });
  });

  router.get('/groups/:id/rule/versions', requirePermission('groups:read'), validate({ params: idParams, query: pageQuery }), async (req, res) => {
    res.json(await listRuleVersions(req.params.id as string, pageRequest(res.locals.query)));
  });

  // Preview and explain show users' data (who a rule selects, each condition's field value): users:read besides.
  router.post('/groups/:id/preview', requirePermission('groups:read', 'users:read'), validate({ params: idParams, body: previewBodySchema }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    if (group.type !== 'automatic') throw new ConflictError('A manual group has no rule to preview.');
    const { rule: proposed, at: asked } = req.body as { rule?: unknown; at?: string };
    const at = asked === undefined ? undefined : new Date(asked);
    const now = new Date();
    const problems: Array<{ path: string; message: string }> = [];
    if (proposed !== undefined) {
      const { ctx, graph } = await ruleValidationContext();
      const result = validateRule(proposed, ctx);
      // As the group's rule: one that would close a cycle of groups is refused here too.
      if (result.valid) result.errors.push(...graphIssues(proposed, group._id, graph));
      problems.push(...result.errors.map((e) => ({ path: e.path ? `rule.${e.path}` : 'rule', message: e.message })));
    }
    // "Now or later": a client's "now" reaches the service a moment later, so a few seconds of lag are still now.
    if (at && at.getTime() < now.getTime() - PREVIEW_AT_LAG_MS) problems.push({ path: 'at', message: 'must be now or later (a preview shows what time will do, not what it did)' });
    if (problems.length) throw new ValidationError(`The preview has ${problems.length} error${problems.length > 1 ? 's' : ''}.`, problems);
    const when = at && at > now ? at : now;
    res.json(await withSampleUsers(await previewGroup(group, proposed as RuleDocument | undefined, when, when > now ? now : undefined)));
  });

  router.get('/groups/:id/explain/:externalId', requirePermission('members:read', 'users:read'), validate({ params: memberParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    const explanation = await explainMembership(group, req.params.externalId as string);
    const user = (await userSummaries([req.params.externalId as string])).get(req.params.externalId as string);
    res.json({ ...explanation, ...(user ? { user } : {}) });
  });

  router.post('/groups/:id/sync', requirePermission('groups:write'), validate({ params: idParams, body: groupSyncBodySchema }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    if (isScopedGroup(group)) {
      // A course's class group: the sync is the course's (all its class groups at once).
      const jobId = await startClassSyncOfGroup(scheduler, group.scope, {
        actor: actorOf(req.principal),
        confirmRemovals: (req.body as { confirmRemovals: boolean }).confirmRemovals,
        now: deps.clock.now(),
      });
      res.status(202).location(`/api/v1/jobs/${jobId}`).json({ jobId });
      return;
    }
    if (group.type !== 'automatic') throw new ConflictError('Only automatic groups sync; this one is manual.');
    if (group.paused) throw new ConflictError('The group is paused; resume it (PATCH {"paused": false}) to sync it.');
    const jobId = await startGroupSync(scheduler, group._id, { actor: actorOf(req.principal), confirmRemovals: (req.body as { confirmRemovals: boolean }).confirmRemovals });
    res.status(202).location(`/api/v1/jobs/${jobId}`).json({ jobId });
  });

  router.post('/sync', requirePermission('groups:write'), validate({ body: fullSyncBodySchema }), async (req, res) => {
    const jobId = await startFullSync(scheduler, { actor: actorOf(req.principal), ...(req.body as { partitions?: number }) });
    res.status(202).location(`/api/v1/jobs/${jobId}`).json({ jobId });
  });

  router.get(
    '/groups/:id/members',
    requirePermission('members:read'),
    validate({ params: idParams, query: memberListQuery }),
    async (req, res) => {
      const group = await requireGroup(req.params.id as string);
      const { source, q, sort, include } = res.locals.query as { source?: MembershipSource; q?: string; sort: 'externalId' | 'name'; include?: 'user' };
      if (q || sort === 'name') {
        res.json(await searchMembers(group._id, pageRequest(res.locals.query), { ...(source ? { source } : {}), ...(q ? { q } : {}), sort }));
        return;
      }
      const page = await listMembers(group._id, pageRequest(res.locals.query), source);
      res.json(include === 'user' ? { ...page, items: await withUsers(page.items) } : page);
    },
  );

  router.get('/groups/:id/members.csv', requirePermission('members:read'), validate({ params: idParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    res.type('text/csv; charset=utf-8').attachment(`${group._id}-members.csv`);
    try {
      await writeMembersCsv(group._id, res);
    } catch (err) {
      // The chain has destroyed the response: the client sees a cut-off download, never a short file that looks
      // whole. A client that went away is routine; anything else (the database) is logged as an error.
      const clientLeft = (err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE';
      logger[clientLeft ? 'info' : 'error']({ err, reqId: req.id, groupId: group._id }, 'members.csv export stopped part-way');
    }
  });

  router.put('/groups/:id/members/:externalId', requirePermission('members:write'), validate({ params: memberParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    const { created, member } = await addMember(group, req.params.externalId as string, actorOf(req.principal), metrics);
    res.status(created ? 201 : 200).json(member);
  });

  router.delete('/groups/:id/members/:externalId', requirePermission('members:write'), validate({ params: memberParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    await removeMember(group, req.params.externalId as string, actorOf(req.principal), metrics);
    res.status(204).end();
  });

  router.get('/groups/:id/exclusions', requirePermission('members:read'), validate({ params: idParams, query: exclusionListQuery }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    const page = await listExclusions(group._id, pageRequest(res.locals.query));
    res.json(res.locals.query.include === 'user' ? { ...page, items: await withUsers(page.items) } : page);
  });

  router.put('/groups/:id/exclusions/:externalId', requirePermission('members:write'), validate({ params: memberParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    const { created, exclusion } = await addExclusion(group, req.params.externalId as string, actorOf(req.principal), metrics);
    res.status(created ? 201 : 200).json(exclusion);
  });

  router.delete('/groups/:id/exclusions/:externalId', requirePermission('members:write'), validate({ params: memberParams }), async (req, res) => {
    const group = await requireGroup(req.params.id as string);
    await removeExclusion(group, req.params.externalId as string, actorOf(req.principal), metrics);
    res.status(204).end();
  });

  router.get(
    '/groups/:id/history',
    requirePermission('members:read'),
    validate({ params: idParams, query: historyQuery }),
    async (req, res) => {
      const group = await requireGroup(req.params.id as string);
      const { externalId, action } = res.locals.query as { externalId?: string; action?: string };
      const page = await listHistory(group._id, pageRequest(res.locals.query), { ...(externalId ? { externalId } : {}), ...(action ? { action } : {}) });
      res.json(res.locals.query.include === 'user' ? { ...page, items: await withUsers(page.items) } : page);
    },
  );

  router.use(groupCoursesRoutes(deps));
  router.use(membersSourcesRoutes(deps));

  return router;
}

