// /api/v1/session: sign in with an API key (a session cookie), see the session, sign out. Signing in and out
// authenticate themselves (auth.ts lets them through); GET needs a key or a session like any call.
import { Router } from 'express';
import type { RouteDeps } from '../service-deps.js';
import { refuseCrossSite } from '../platform/auth.js';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../platform/errors.js';
import { validate } from '../platform/validate.js';
import { openSessionSchema } from './sessions.schema.js';
import { describeSession, endSession, openSession, resolveSession, sessionIdOf } from './sessions.service.js';
import { clearSessionCookie, readSessionCookie, setSessionCookie } from './session-cookie.js';

export { sessionsOpenApi, sessionsSchemas } from './sessions.openapi.js';

export function sessionsRoutes(deps: RouteDeps): Router {
  const router = Router();
  const { config } = deps;

  router.post('/session', validate({ body: openSessionSchema }), async (req, res) => {
    // Signing a browser in from another site's page (login CSRF) would have it act as the attacker's key.
    const site = req.get('sec-fetch-site');
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new ForbiddenError(`Sign in from this service's own pages (Sec-Fetch-Site: ${site}).`);
    }
    const opened = await openSession((req.body as { key: string }).key, config);
    setSessionCookie(req, res, config, opened.token, opened.maxAgeMs);
    res.status(201).set('Cache-Control', 'no-store').json(opened.view);
  });

  router.get('/session', validate({}), (req, res) => {
    const live = req.liveSession;
    if (!live) throw new NotFoundError('This call carries an API key, not a session: there is no session to show.');
    res.set('Cache-Control', 'no-store').json(describeSession(live));
  });

  router.delete('/session', validate({}), async (req, res) => {
    const cookie = readSessionCookie(req);
    if (cookie !== undefined) {
      const live = await resolveSession(cookie, config).catch((err: unknown) => {
        if (err instanceof UnauthorizedError) return undefined;
        throw err;
      });
      // A live session is ended only by its own pages (like any state-changing call made with it); one that
      // no longer works is simply forgotten.
      if (live) refuseCrossSite(req, live.sessionId, live.secret);
      const sessionId = live?.sessionId ?? (await sessionIdOf(cookie, config));
      if (sessionId) await endSession(sessionId);
    }
    clearSessionCookie(req, res, config);
    res.status(204).end();
  });

  return router;
}
