// The job dashboard at /dashboard: Agendash 8 (made for Agenda 6 and Express 5) over the service's own scheduler.
// It shows, requeues, retries and deletes any job, so only admins reach it: a signed-in admin session (the console
// links here) or an admin bearer key; every other role gets 403, no credentials 401, as on the API. Agendash's
// own front end cannot send the session's CSRF header, so its state-changing calls are held to the browser's
// fetch metadata instead (auth.ts, refuseCrossSiteByFetchMetadata).
import express, { type Router } from 'express';
import { createExpressMiddleware } from 'agendash';
import { authenticate, requirePermission } from '../platform/auth.js';
import type { RouteDeps } from '../service-deps.js';

export const DASHBOARD_PATH = '/dashboard';

export function jobDashboard(deps: RouteDeps): Router {
  const router = express.Router();
  router.use(authenticate(deps.config, { crossSite: 'fetch-metadata' }));
  router.use(requirePermission('dashboard'));
  // Its page loads ./assets/…: without the trailing slash they would resolve outside the dashboard.
  router.use((req, res, next) => {
    if (req.method === 'GET' && req.originalUrl === DASHBOARD_PATH) return res.redirect(301, `${DASHBOARD_PATH}/`);
    next();
  });
  router.use(createExpressMiddleware(deps.scheduler.agenda));
  return router;
}
