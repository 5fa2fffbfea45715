// createApp(): the HTTP surface. No listen, no connect: the lifecycle owns those, and supertest imports this.
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { mountPath, requestLog } from './platform/request-log.js';
import { authenticate } from './platform/auth.js';
import { requireUtf8 } from './platform/body-encoding.js';
import { pathParamErrors } from './platform/path-params.js';
import { errorHandler, NotFoundError, ServiceUnavailableError } from './platform/errors.js';
import { buildOpenApiDocument } from './openapi.js';
import { rateLimits } from './platform/rate-limit.js';
import { requestTimeout } from './platform/request-timeout.js';
import { bulkAdmission } from './platform/admission.js';
import { apiKeysRoutes } from './keys/api-keys.routes.js';
import { jobsRoutes } from './jobs/jobs.routes.js';
import type { ServiceDeps } from './service-deps.js';
import { directoryRoutes } from './directory/directory.routes.js';
import { groupsRoutes } from './groups/groups.routes.js';
import { classSyncRoutes } from './class-sync/class-sync.routes.js';
import { rulesRoutes } from './rules/rules.routes.js';
import { requestsRoutes } from './requests/support-requests.routes.js';
import { sessionsRoutes } from './sessions/sessions.routes.js';
import { DASHBOARD_PATH, jobDashboard } from './jobs/dashboard.js';
import { consoleRoutes } from './console/console.routes.js';
import { scimRoutes } from './scim/scim.routes.js';
import { scimRequestsRoutes } from './scim/scim-requests.routes.js';
import { changesRoutes } from './changes/changes.routes.js';
import { webhooksRoutes } from './webhooks/webhooks.routes.js';

export interface AppDeps extends ServiceDeps {
  /** False for ROLE=worker: only the operations endpoints are served. */
  serveApi: boolean;
  /** What /ready checks: each entry is a named probe that throws when its dependency is not usable. */
  readiness: Record<string, () => Promise<void>>;
}

/** Bodies larger than the default are allowed only where the contract needs them (HR batch feeds). */
const JSON_LIMITS: Array<[RegExp, string]> = [[/^(\/api\/v1)?\/(users|enrollments)\/batch$/, '32mb']]; // req.path is relative inside the /api/v1 router
const DEFAULT_JSON_LIMIT = '1mb';

function jsonBody(): RequestHandler {
  const parsers = new Map<string, RequestHandler>();
  const parserFor = (limit: string): RequestHandler => {
    let p = parsers.get(limit);
    if (!p) parsers.set(limit, (p = express.json({ limit, strict: true, verify: requireUtf8 })));
    return p;
  };
  return (req, res, next) => {
    const limit = JSON_LIMITS.find(([re]) => re.test(req.path))?.[1] ?? DEFAULT_JSON_LIMIT;
    parserFor(limit)(req, res, next);
  };
}

/** /ready answers within this bound even when a dependency hangs: a probe that takes longer counts as failed. */
const READY_PROBE_TIMEOUT_MS = 2500;

function withinMs<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestLog(deps.logger, deps.metrics));
  // Reliability: no request holds its connection longer than the bound (answered 503 then).
  app.use(requestTimeout(deps.config.requestTimeoutMs));
  // helmet's default CSP, without upgrade-insecure-requests: that directive makes a browser fetch /docs' assets
  // over https even when the service is reached over plain http by any host but localhost, which left the page
  // blank. The rest stays strict: swagger-ui-express loads its init code from a file (swagger-ui-init.js), so
  // script-src 'self' suffices.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    const failed: string[] = [];
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, probe]) => {
        try {
          await withinMs(READY_PROBE_TIMEOUT_MS, probe());
        } catch {
          failed.push(name);
        }
      }),
    );
    if (failed.length) throw new ServiceUnavailableError(`Not ready: ${failed.sort().join(', ')} unavailable.`);
    res.json({ status: 'ready', checks: Object.fromEntries(Object.keys(deps.readiness).map((k) => [k, 'ok'])) });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const openapi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: 'Autogroups API' }));

  if (deps.serveApi) {
    // One bound for every way bulk work comes in: the API's batches and imports, and SCIM's Bulk.
    const admission = bulkAdmission({ bulkInFlight: deps.config.bulkRequestsInFlight, requestTimeoutMs: deps.config.requestTimeoutMs });
    const api = express.Router();
    api.use(mountPath);
    // A bearer key or a browser session (sessions/): the session module reads its one cookie, no general cookie parser.
    api.use(authenticate(deps.config));
    // Reliability: per-key budgets, counted once the key is known.
    // Both budgets 0 leave no limiter, and Express refuses an empty use().
    const limits = rateLimits({ perMinute: deps.config.rateLimitPerMinute, batchesPerMinute: deps.config.rateLimitBatchesPerMinute });
    if (limits.length) api.use(limits);
    // Interactive work first: a few bulk requests at a time, one more answered 503 at once (before its body is read).
    api.use(admission.apiRequests);
    api.use(jsonBody());
    api.use(apiKeysRoutes());
    api.use(jobsRoutes());
    api.use(directoryRoutes(deps));
    api.use(rulesRoutes(deps));
    api.use(groupsRoutes(deps));
    api.use(classSyncRoutes(deps));
    api.use(requestsRoutes(deps));
    api.use(sessionsRoutes(deps));
    api.use(scimRequestsRoutes());
    api.use(changesRoutes());
    api.use(webhooksRoutes(deps));
    api.use(pathParamErrors(api));
    app.use('/api/v1', api);
    app.use(DASHBOARD_PATH, jobDashboard(deps));
    app.use('/console', consoleRoutes());
    // SCIM 2.0 for identity providers: its own auth, bodies and error shape (scim/scim.routes.ts).
    app.use('/scim/v2', scimRoutes(deps, admission));
  }

  app.use((req, _res, next) => {
    next(new NotFoundError(`No route for ${req.method} ${req.path}.`));
  });
  app.use(errorHandler(deps.logger));
  return app;
}
