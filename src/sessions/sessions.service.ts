// Browser sessions: an API key exchanged for a signed, expiring cookie that carries the key's id and role.
// A session never outlives nor outranks its key: every request re-reads the key (by id) and refuses the session
// when the key is gone (revoked), was made again since, or no longer has the role the session was opened with.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Principal } from '../platform/principal.js';
import { UnauthorizedError } from '../platform/errors.js';
import { findKeyById, findKeyBySecret } from '../keys/api-keys.service.js';
import { SessionModel, type SessionDoc } from './session.model.js';
import { sessionSecret } from './session-secret.js';
import { csrfTokenFor, signSession, verifySession } from './session-token.js';

interface SessionView {
  keyId: string;
  name: string;
  role: Principal['role'];
  expiresAt: string;
  csrfToken: string;
}

interface OpenedSession {
  view: SessionView;
  /** The cookie's value. */
  token: string;
  maxAgeMs: number;
}

export interface LiveSession {
  principal: Principal;
  sessionId: string;
  expiresAt: Date;
  secret: Buffer;
}

/** Exchanges an API key for a session; a wrong key is a 401. */
export async function openSession(key: string, config: Config, now = new Date()): Promise<OpenedSession> {
  const found = await findKeyBySecret(key);
  if (!found) throw new UnauthorizedError('The API key is not known or has been revoked.');
  const secret = await sessionSecret(config.sessionSecret);
  const maxAgeMs = config.sessionTtlSeconds * 1000;
  const expiresAt = new Date(now.getTime() + maxAgeMs);
  const sessionId = `ses_${randomBytes(16).toString('hex')}`;
  // Records of expired sessions are never read again; sign-ins are rare enough to sweep them here (the embedded database has no TTL indexes).
  await SessionModel.deleteMany({ expiresAt: { $lt: now } });
  await SessionModel.create({ _id: sessionId, keyId: found.id, keyCreatedAt: new Date(found.createdAt), role: found.role, expiresAt });
  return {
    token: signSession({ sessionId, keyId: found.id, role: found.role, expiresAt: expiresAt.getTime() }, secret),
    maxAgeMs,
    view: { keyId: found.id, name: found.name, role: found.role, expiresAt: expiresAt.toISOString(), csrfToken: csrfTokenFor(sessionId, secret) },
  };
}

const ended = () => new UnauthorizedError('The session has expired or ended; sign in again (POST /api/v1/session).');

/** The session a cookie names, with the principal it acts as now; a 401 when it is not (or no longer) valid. */
export async function resolveSession(token: string, config: Config, now = Date.now()): Promise<LiveSession> {
  const secret = await sessionSecret(config.sessionSecret);
  const claims = verifySession(token, secret, now);
  if (!claims) throw ended();
  const record = await SessionModel.findById(claims.sessionId).lean<SessionDoc>();
  if (!record || record.keyId !== claims.keyId || record.expiresAt.getTime() <= now) throw ended();
  const key = await findKeyById(claims.keyId);
  if (!key || key.createdAt !== record.keyCreatedAt.toISOString()) {
    throw new UnauthorizedError('The API key this session was opened with has been revoked; sign in again.');
  }
  if (key.role !== claims.role) throw new UnauthorizedError("The API key's role has changed since this session was opened; sign in again.");
  return { principal: { keyId: key.id, name: key.name, role: key.role }, sessionId: record._id, expiresAt: record.expiresAt, secret };
}

/** The session a cookie names, if its signature holds (expired or not); for signing out. */
export async function sessionIdOf(token: string, config: Config): Promise<string | undefined> {
  const claims = verifySession(token, await sessionSecret(config.sessionSecret), Number.NEGATIVE_INFINITY);
  return claims?.sessionId;
}

export function describeSession(live: LiveSession): SessionView {
  return { ...live.principal, expiresAt: live.expiresAt.toISOString(), csrfToken: csrfTokenFor(live.sessionId, live.secret) };
}

export async function endSession(sessionId: string): Promise<void> {
  await SessionModel.deleteOne({ _id: sessionId });
}
