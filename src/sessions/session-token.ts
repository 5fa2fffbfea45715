// The session cookie's value: `v1.<claims>.<signature>`, the claims base64url JSON and the signature
// HMAC-SHA256 over `v1.<claims>` with the session secret. A cookie whose signature does not verify, or whose
// expiry has passed, is refused before the database is asked anything.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ROLES, type Role } from '../platform/roles.js';

const VERSION = 'v1';

interface SessionClaims {
  /** The server-side record's id (sessions collection). */
  sessionId: string;
  keyId: string;
  /** The key's role at sign-in; a request is served with the key's current role, and refused if they differ. */
  role: Role;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const mac = (secret: Buffer, text: string) => createHmac('sha256', secret).update(text, 'utf8').digest();

export function signSession(claims: SessionClaims, secret: Buffer): string {
  const body = `${VERSION}.${Buffer.from(JSON.stringify({ s: claims.sessionId, k: claims.keyId, r: claims.role, e: claims.expiresAt }), 'utf8').toString('base64url')}`;
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/** The claims of a cookie this service signed and that has not expired; undefined for anything else. */
export function verifySession(token: string, secret: Buffer, now: number): SessionClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return undefined;
  const expected = mac(secret, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let raw: { s?: unknown; k?: unknown; r?: unknown; e?: unknown };
  try {
    raw = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof raw;
  } catch {
    return undefined;
  }
  if (typeof raw.s !== 'string' || typeof raw.k !== 'string' || typeof raw.e !== 'number' || !ROLES.includes(raw.r as Role)) return undefined;
  if (raw.e <= now) return undefined;
  return { sessionId: raw.s, keyId: raw.k, role: raw.r as Role, expiresAt: raw.e };
}

/**
 * The anti-forgery token of a session: derived from its id with the secret (no storage), handed to the page at
 * sign-in and by GET /session, and required in `X-CSRF-Token` on every state-changing call the cookie
 * authenticates. Another site can make a browser send the cookie (were SameSite ever bypassed) but cannot read
 * this token nor set a custom header on a cross-site request without a CORS grant, which this service never gives.
 */
export function csrfTokenFor(sessionId: string, secret: Buffer): string {
  return mac(secret, `csrf.${sessionId}`).toString('base64url');
}

export function csrfTokenMatches(given: string, sessionId: string, secret: Buffer): boolean {
  const expected = Buffer.from(csrfTokenFor(sessionId, secret), 'utf8');
  const got = Buffer.from(given, 'utf8');
  return got.length === expected.length && timingSafeEqual(got, expected);
}
