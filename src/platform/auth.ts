// Who is calling, on every /api/v1 call: a bearer API key, or a browser session opened with one (sessions/).
// 401 for a missing, unknown or revoked key and for a session that is not (or no longer) valid; 403 for a known
// key whose role lacks the route's permission (see roles.ts), and for a state-changing call made with a session
// that does not prove it comes from this service's own pages.
import type { Request, RequestHandler } from 'express';
import type { Config } from '../config.js';
import { findKeyBySecret } from '../keys/api-keys.service.js';
import { resolveSession } from '../sessions/sessions.service.js';
import { clearSessionCookie, readSessionCookie } from '../sessions/session-cookie.js';
import { csrfTokenMatches } from '../sessions/session-token.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';
import { roleAllows, type Permission } from './roles.js';
import type { Principal } from './principal.js';

export type { Principal } from './principal.js';

/** Who did it, for history entries: the key's name and id. */
export function actorOf(principal: Principal | undefined): string {
  return principal ? `key:${principal.name} (${principal.keyId})` : 'system';
}

/** Operations that authenticate themselves: signing in takes the key in its body, signing out works with any cookie. */
const SELF_AUTHENTICATED = new Set(['POST /session', 'DELETE /session']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSRF_HEADER = 'X-CSRF-Token';

/** The browser's `Sec-Fetch-Site` must say `same-origin`; when `required`, a request without it is refused too. */
function refuseOtherSites(req: Request, required: boolean): void {
  const site = req.get('sec-fetch-site');
  if (site === 'same-origin' || (site === undefined && !required)) return;
  throw new ForbiddenError(`A state-changing call made with a session must come from this service's own pages (Sec-Fetch-Site: ${site ?? 'absent'}).`);
}

/**
 * A state-changing call authenticated by the cookie must come from this service's own pages: a browser's
 * `Sec-Fetch-Site`, when sent, must say `same-origin`, and `X-CSRF-Token` must hold the session's token. The
 * cookie is SameSite=Strict already; these checks hold where that does not (older browsers, a sibling subdomain
 * under attacker control counts as same-site), and a cross-site page can neither read the token nor send a
 * custom header without a CORS grant.
 */
export function refuseCrossSite(req: Request, sessionId: string, secret: Buffer): void {
  refuseOtherSites(req, false);
  const token = req.get(CSRF_HEADER);
  if (!token || !csrfTokenMatches(token, sessionId, secret)) {
    throw new ForbiddenError(`A state-changing call made with a session needs the session's ${CSRF_HEADER} header (given by POST and GET /api/v1/session).`);
  }
}

/**
 * For pages the service serves but did not write (the job dashboard's own front end cannot send the CSRF header):
 * a state-changing call made with a session must carry the browser's `Sec-Fetch-Site: same-origin`, and its
 * `Origin`, when sent, must be this host. Every browser that honours SameSite=Strict sends fetch metadata.
 */
export function refuseCrossSiteByFetchMetadata(req: Request): void {
  refuseOtherSites(req, true);
  const origin = req.get('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.get('host')}`) {
    throw new ForbiddenError(`A state-changing call made with a session must come from this service's own pages (Origin: ${origin}).`);
  }
}

interface AuthenticateOptions {
  /** How a state-changing call made with a session proves it is not cross-site: the session's token (default), or fetch metadata. */
  crossSite?: 'csrf-token' | 'fetch-metadata';
}

export function authenticate(config: Config, options: AuthenticateOptions = {}): RequestHandler {
  return async (req, res, next) => {
    if (SELF_AUTHENTICATED.has(`${req.method} ${req.path.replace(/(.)\/$/, '$1')}`)) return next();
    const header = req.get('authorization');
    // An Authorization header is the caller's explicit choice: it is used, right or wrong, whatever cookie comes along.
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match) throw new UnauthorizedError('Send an API key as `Authorization: Bearer <key>`.');
      const key = await findKeyBySecret(match[1]!);
      if (!key) throw new UnauthorizedError('The API key is not known or has been revoked.', { invalidToken: true });
      req.principal = { keyId: key.id, name: key.name, role: key.role };
      req.authenticatedBy = 'key';
      return next();
    }
    const cookie = readSessionCookie(req);
    if (cookie === undefined) throw new UnauthorizedError('Send an API key as `Authorization: Bearer <key>`, or sign in (POST /api/v1/session).');
    let session;
    try {
      session = await resolveSession(cookie, config);
    } catch (err) {
      if (err instanceof UnauthorizedError) clearSessionCookie(req, res, config); // a cookie that no longer works is not kept
      throw err;
    }
    if (!SAFE_METHODS.has(req.method)) {
      if (options.crossSite === 'fetch-metadata') refuseCrossSiteByFetchMetadata(req);
      else refuseCrossSite(req, session.sessionId, session.secret);
    }
    req.principal = session.principal;
    req.authenticatedBy = 'session';
    req.liveSession = session;
    next();
  };
}

/**
 * The key's role must hold every permission named. Routes that show users' data through a group (explain,
 * preview) name `users:read` besides their group permission, so a role that may not read users through
 * /users cannot read them that way either.
 */
export function requirePermission(...permissions: [Permission, ...Permission[]]): RequestHandler {
  return (req, _res, next) => {
    const principal = req.principal;
    if (!principal) throw new UnauthorizedError('Send an API key as `Authorization: Bearer <key>`.');
    const missing = permissions.filter((p) => !roleAllows(principal.role, p));
    if (missing.length) {
      throw new ForbiddenError(`The ${principal.role} role may not do this (needs ${missing.join(' and ')}).`);
    }
    next();
  };
}
