// Bearer API keys on every /api/v1 call: 401 for a missing or unknown key, 403 for a known key whose role lacks
// the route's permission (see roles.ts).
import type { RequestHandler } from 'express';
import { findKeyBySecret } from '../keys/api-keys.service.js';
import { ForbiddenError, UnauthorizedError } from './errors.js';
import { roleAllows, type Permission, type Role } from './roles.js';

export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

/** Who did it, for history entries: the key's name and id. */
export function actorOf(principal: Principal | undefined): string {
  return principal ? `key:${principal.name} (${principal.keyId})` : 'system';
}

export const authenticate: RequestHandler = async (req, _res, next) => {
  const header = req.get('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    throw new UnauthorizedError('Send an API key as `Authorization: Bearer <key>`.');
  }
  const key = await findKeyBySecret(match[1]!);
  if (!key) throw new UnauthorizedError('The API key is not known or has been revoked.', { invalidToken: true });
  req.principal = { keyId: key.id, name: key.name, role: key.role };
  next();
};

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
