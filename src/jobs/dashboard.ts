// The job dashboard at /dashboard: Agendash 8 (made for Agenda 6 and Express 5) over the service's own scheduler.
// It shows, requeues, retries and deletes any job, so only admins reach it: a signed-in admin session (the console
// links here) or an admin bearer key; every other role gets 403, no credentials 401, as on the API. Agendash's
// own front end cannot send the session's CSRF header, so its state-changing calls are held to the browser's
// fetch metadata instead (auth.ts, refuseCrossSiteByFetchMetadata).
//
// Two things are the service's own, in front of Agendash:
// - Its live events (GET /dashboard/api/events). Agendash serves them only from a notification channel with state
//   subscriptions, which this scheduler does not configure, so it answered 501 and the page's EventSource retried
//   (and logged an error) every few seconds. Here the stream relays the job events of the process that serves it
//   (start, success, fail, complete): the dashboard refreshes its list when one of this process's jobs finishes,
//   and its counts poll every 5 s as before.
// - A line at the top of its page saying what it lists: Agenda's queue, i.e. the repeating jobs and the jobs
//   waiting or running now. A one-off job leaves the queue when it finishes (job-run.model.ts), so finished syncs
//   are not here but on the console's Jobs page and GET /api/v1/jobs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { createExpressMiddleware, cspHeader } from 'agendash';
import { authenticate, requirePermission } from '../platform/auth.js';
import type { RouteDeps } from '../service-deps.js';

export const DASHBOARD_PATH = '/dashboard';

/** A comment line sent this often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 25_000;
/** How often an open stream checks that the server still listens: a stopping service ends its streams at once. */
const LISTENING_CHECK_MS = 500;

const NOTICE =
  '<p role="note" style="margin:0;padding:.5rem 1rem;background:#fff3cd;color:#5a4000;font:14px/1.4 system-ui,sans-serif">' +
  'This dashboard shows the job queue: the repeating jobs and the jobs waiting or running now. ' +
  'Finished one-off jobs (group syncs, copies, enrolments) leave the queue when they end: their record, with results and errors, is on ' +
  '<a href="/console/#/jobs">the console’s Jobs page</a> and at GET /api/v1/jobs. Live updates come from the jobs this process runs.</p>';

/** Agendash's page with the notice, read once. */
function dashboardPage(): string {
  const index = path.join(path.dirname(createRequire(import.meta.url).resolve('agendash')), '..', 'public', 'index.html');
  return readFileSync(index, 'utf8')
    .replace('</head>', '<link rel="icon" href="/console/favicon.svg" type="image/svg+xml" />\n</head>')
    .replace('<body>', `<body>\n${NOTICE}`);
}

interface JobLike {
  attrs?: { _id?: unknown; name?: string };
}

/** The stream Agendash's page listens to: `connected`, then a notification per job event of this process. */
function jobEvents(agenda: RouteDeps['scheduler']['agenda']) {
  // Agenda's typed `on` lists its event names per overload; these four are plain EventEmitter events of it.
  const emitter = agenda as unknown as EventEmitter;
  return (req: Request, res: Response) => {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('event: connected\ndata: {"connected":true}\n\n');
    const listeners = (['start', 'success', 'fail', 'complete'] as const).map((type) => {
      const listener = (...args: unknown[]) => {
        // `fail` passes (error, job); the others pass (job).
        const job = (type === 'fail' ? args[1] : args[0]) as JobLike | undefined;
        const jobId = job?.attrs?._id === undefined ? undefined : String(job.attrs._id);
        res.write(`data: ${JSON.stringify({ type, jobId, jobName: job?.attrs?.name })}\n\n`);
      };
      emitter.on(type, listener);
      return { type, listener };
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    // A stream never finishes by itself: once the server stops listening (a stop has begun), end it, so that the
    // stop does not wait out its timeout for an open dashboard.
    const server = (req.socket as Socket & { server?: Server }).server;
    const listening = setInterval(() => {
      if (server && !server.listening) res.end();
    }, LISTENING_CHECK_MS);
    req.on('close', () => {
      clearInterval(keepAlive);
      clearInterval(listening);
      for (const { type, listener } of listeners) emitter.off(type, listener);
    });
  };
}

export function jobDashboard(deps: RouteDeps): Router {
  const router = express.Router();
  const page = dashboardPage();
  router.use(authenticate(deps.config, { crossSite: 'fetch-metadata' }));
  router.use(requirePermission('dashboard'));
  // Its page loads ./assets/…: without the trailing slash they would resolve outside the dashboard.
  router.use((req, res, next) => {
    if (req.method === 'GET' && req.originalUrl === DASHBOARD_PATH) return res.redirect(301, `${DASHBOARD_PATH}/`);
    next();
  });
  router.get(['/', '/index.html'], (_req, res) => {
    res.type('html').set({ 'Cache-Control': 'no-cache', 'Content-Security-Policy': cspHeader }).send(page);
  });
  router.get('/api/events', jobEvents(deps.scheduler.agenda));
  router.use(createExpressMiddleware(deps.scheduler.agenda));
  return router;
}
