import type { Principal } from '../platform/auth.js';

declare global {
  namespace Express {
    interface Request {
      /** Request id: the caller's X-Request-Id when sane, else generated. */
      id: string;
      /** The authenticated API key, set by the auth middleware on /api/v1. */
      principal?: Principal;
    }
  }
}

export {};
