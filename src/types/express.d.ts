import type { Principal } from '../platform/principal.js';
import type { LiveSession } from '../sessions/sessions.service.js';

declare global {
  namespace Express {
    interface Request {
      /** Request id: the caller's X-Request-Id when sane, else generated. */
      id: string;
      /** The authenticated API key, set by the auth middleware on /api/v1. */
      principal?: Principal;
      /** How the principal was established: a bearer key, or a browser session opened with one. */
      authenticatedBy?: 'key' | 'session';
      /** The session the call came with, when authenticatedBy is 'session'. */
      liveSession?: LiveSession;
    }
  }
}

export {};
