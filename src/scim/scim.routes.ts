// /scim/v2: SCIM 2.0 (RFC 7643, RFC 7644) for identity providers and HR systems. Its own router, because SCIM
// differs from /api/v1 in what surrounds the routes: bearer API keys only (role hr-feed or admin), bodies of
// `application/scim+json`, and every failure answered in SCIM's error shape (scim-error.ts), never a problem
// document. Each route reads as: parameters → the SCIM service (users.scim.ts, groups.scim.ts, bulk.ts) → answer.
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { actorOf } from '../platform/auth.js';
import { findKeyBySecret } from '../keys/api-keys.service.js';
import { requireUtf8 } from '../platform/body-encoding.js';
import { rateLimits } from '../platform/rate-limit.js';
import { UnsupportedMediaTypeError, type AppError } from '../platform/errors.js';
import type { WriteContext } from './write-context.js';
import { fromAppError, notFound, ScimError, scimErrorHandler, sendScimError } from './scim-error.js';
import { TIMEOUT_SENDER } from '../platform/request-timeout.js';
import type { BulkAdmission } from '../platform/admission.js';
import { scimRequestLog } from './request-log.js';
import { readListParams, type ListParams, type ListResult } from './list-params.js';
import { project, type ScimObject } from './resource-shape.js';
import { createScimUser, deleteScimUser, getScimUser, listScimUsers, patchScimUser, replaceScimUser } from './users.scim.js';
import { createScimGroup, deleteScimGroup, getScimGroup, listScimGroups, patchScimGroup, replaceScimGroup } from './groups.scim.js';
import { BULK_MAX_PAYLOAD, resourceType, resourceTypes, schema, schemas, serviceProviderConfig } from './discovery.js';
import { runBulk } from './bulk.js';
import { SCIM_BASE, SCIM_CONTENT_TYPE, URN } from './urns.js';

const SCIM_ROLES = new Set(['admin', 'hr-feed']);

/** Bearer API keys of role hr-feed or admin; browser sessions are not for provisioning clients. */
const scimAuth: RequestHandler = async (req, _res, next) => {
  const header = req.get('authorization');
  const challenge = (invalid: boolean) => ({ 'WWW-Authenticate': `Bearer realm="autogroups"${invalid ? ', error="invalid_token"' : ''}` });
  const match = header !== undefined ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new ScimError(401, 'Send an API key of role hr-feed or admin as `Authorization: Bearer <key>`.', undefined, challenge(false));
  const key = await findKeyBySecret(match[1]!);
  if (!key) throw new ScimError(401, 'The API key is not known or has been revoked.', undefined, challenge(true));
  req.principal = { keyId: key.id, name: key.name, role: key.role };
  req.authenticatedBy = 'key';
  if (!SCIM_ROLES.has(key.role)) throw new ScimError(403, `The ${key.role} role may not use SCIM (hr-feed and admin keys may).`);
  next();
};

const JSON_TYPES = ['application/scim+json', 'application/json', 'application/*+json'];

function scimBody(): RequestHandler {
  const normal = express.json({ type: JSON_TYPES, limit: '1mb', strict: true, verify: requireUtf8 });
  const bulk = express.json({ type: JSON_TYPES, limit: BULK_MAX_PAYLOAD, strict: true, verify: requireUtf8 });
  return (req, res, next) => {
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is(JSON_TYPES)) return next(new UnsupportedMediaTypeError('Send SCIM bodies as application/scim+json (or application/json).'));
    (req.path.toLowerCase() === '/bulk' ? bulk : normal)(req, res, next);
  };
}

function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${SCIM_BASE}`;
}

function send(res: Response, status: number, body: ScimObject | Record<string, unknown>): void {
  const meta = (body as { meta?: { version?: string; location?: string } }).meta;
  if (meta?.version) res.set('ETag', meta.version);
  if (status === 201 && meta?.location) res.location(meta.location);
  res.status(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
}

function listResponse(res: Response, params: ListParams, result: ListResult, extensions: readonly string[], core: string): void {
  const resources = result.resources.map((r) => project(r, { attributes: params.attributes, excluded: params.excludedAttributes, coreUrn: core, extensionUrns: extensions }));
  send(res, 200, { schemas: [URN.listResponse], totalResults: result.total, startIndex: params.startIndex, itemsPerPage: resources.length, Resources: resources });
}

const USER_EXTENSIONS = [URN.enterprise, URN.fields];

export function scimRoutes(deps: RouteDeps, admission: BulkAdmission): Router {
  const router = Router({ caseSensitive: false });
  const ctx = (req: Request): WriteContext => ({ actor: actorOf(req.principal), logger: deps.logger });
  const actor = (req: Request) => actorOf(req.principal);
  const one = (req: Request, resource: ScimObject, core: string, ext: readonly string[]) => {
    const p = readListParams(req.query);
    return project(resource, { attributes: p.attributes, excluded: p.excludedAttributes, coreUrn: core, extensionUrns: ext });
  };

  // A request past the service's time bound is answered in SCIM's shape too.
  router.use((_req, res, next) => {
    res.locals[TIMEOUT_SENDER] = (err: AppError) => sendScimError(res, fromAppError(err));
    next();
  });
  router.use(scimRequestLog(deps.logger));
  router.use(scimAuth);
  const limits = rateLimits({ perMinute: deps.config.rateLimitPerMinute, batchesPerMinute: 0 });
  if (limits.length) router.use(limits);
  // Bulk is bulk work: admitted against the process's bound before its body (up to BULK_MAX_PAYLOAD) is read.
  router.post('/Bulk', admission.everyRequest);
  router.use(scimBody());

  // Users
  router.get('/Users', async (req, res) => {
    const params = readListParams(req.query);
    listResponse(res, params, await listScimUsers(params, baseUrlOf(req)), USER_EXTENSIONS, URN.user);
  });
  router.post('/Users/.search', async (req, res) => {
    const params = readListParams(req.body);
    listResponse(res, params, await listScimUsers(params, baseUrlOf(req)), USER_EXTENSIONS, URN.user);
  });
  router.post('/Users', async (req, res) => {
    send(res, 201, one(req, await createScimUser(req.body, ctx(req), baseUrlOf(req)), URN.user, USER_EXTENSIONS));
  });
  router.get('/Users/:id', async (req, res) => {
    send(res, 200, one(req, await getScimUser(req.params.id as string, baseUrlOf(req)), URN.user, USER_EXTENSIONS));
  });
  router.put('/Users/:id', async (req, res) => {
    send(res, 200, one(req, await replaceScimUser(req.params.id as string, req.body, req.get('if-match'), ctx(req), baseUrlOf(req)), URN.user, USER_EXTENSIONS));
  });
  router.patch('/Users/:id', async (req, res) => {
    send(res, 200, one(req, await patchScimUser(req.params.id as string, req.body, req.get('if-match'), ctx(req), baseUrlOf(req)), URN.user, USER_EXTENSIONS));
  });
  router.delete('/Users/:id', async (req, res) => {
    await deleteScimUser(req.params.id as string, req.get('if-match'), ctx(req), baseUrlOf(req));
    res.status(204).end();
  });

  // Groups
  router.get('/Groups', async (req, res) => {
    const params = readListParams(req.query);
    listResponse(res, params, await listScimGroups(params, baseUrlOf(req)), [], URN.group);
  });
  router.post('/Groups/.search', async (req, res) => {
    const params = readListParams(req.body);
    listResponse(res, params, await listScimGroups(params, baseUrlOf(req)), [], URN.group);
  });
  router.post('/Groups', async (req, res) => {
    send(res, 201, one(req, await createScimGroup(req.body, actor(req), deps.scheduler, baseUrlOf(req)), URN.group, []));
  });
  router.get('/Groups/:id', async (req, res) => {
    const p = readListParams(req.query);
    send(res, 200, one(req, await getScimGroup(req.params.id as string, p, baseUrlOf(req)), URN.group, []));
  });
  router.put('/Groups/:id', async (req, res) => {
    send(res, 200, one(req, await replaceScimGroup(req.params.id as string, req.body, req.get('if-match'), actor(req), deps.scheduler, baseUrlOf(req)), URN.group, []));
  });
  router.patch('/Groups/:id', async (req, res) => {
    await patchScimGroup(req.params.id as string, req.body, req.get('if-match'), actor(req), deps.scheduler, baseUrlOf(req));
    res.status(204).end();
  });
  router.delete('/Groups/:id', async (req, res) => {
    await deleteScimGroup(req.params.id as string, req.get('if-match'), baseUrlOf(req));
    res.status(204).end();
  });

  // Bulk and discovery
  router.post('/Bulk', async (req, res) => {
    send(res, 200, await runBulk(req.body, { ctx: ctx(req), scheduler: deps.scheduler, baseUrl: baseUrlOf(req) }));
  });
  router.get('/ServiceProviderConfig', (req, res) => {
    send(res, 200, serviceProviderConfig(baseUrlOf(req)));
  });
  router.get('/ResourceTypes', (req, res) => {
    const all = resourceTypes(baseUrlOf(req));
    send(res, 200, { schemas: [URN.listResponse], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all });
  });
  router.get('/ResourceTypes/:id', (req, res) => {
    send(res, 200, resourceType(baseUrlOf(req), req.params.id as string));
  });
  router.get('/Schemas', async (req, res) => {
    const all = await schemas(baseUrlOf(req));
    send(res, 200, { schemas: [URN.listResponse], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all });
  });
  router.get('/Schemas/:id', async (req, res) => {
    send(res, 200, await schema(baseUrlOf(req), req.params.id as string));
  });

  router.use((req, _res, next) => next(notFound(`No SCIM endpoint ${req.method} ${req.path}.`)));
  router.use(scimErrorHandler(deps.logger));
  return router;
}
