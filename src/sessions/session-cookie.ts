// The session cookie on the wire: read from the Cookie header, set at sign-in, cleared at sign-out or when it
// no longer works. `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it),
// `Path=/` (the console, the dashboard and the API share it), `Secure` over HTTPS (see SESSION_COOKIE_SECURE).
import type { Request, Response } from 'express';
import type { Config } from '../config.js';

export const SESSION_COOKIE = 'autogroups_session';

/** The session cookie's value, if the request carries one. */
export function readSessionCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

function secure(req: Request, config: Config): boolean {
  return config.sessionCookieSecure === 'auto' ? req.secure : config.sessionCookieSecure === 'true';
}

export function setSessionCookie(req: Request, res: Response, config: Config, token: string, maxAgeMs: number): void {
  // maxAge gives the cookie both Max-Age and Expires (for old browsers): it goes when the session does.
  res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: secure(req, config), maxAge: maxAgeMs, encode: String });
}

export function clearSessionCookie(req: Request, res: Response, config: Config): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/', secure: secure(req, config) });
}
