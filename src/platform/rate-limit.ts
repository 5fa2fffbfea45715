// Per-key rate limits: each API key gets a budget of requests per minute, and a smaller one for batches and CSV
// imports (each may carry 10,000 users). Applied after authentication, keyed by the key's id, so one noisy
// integration cannot starve the others; over budget, a 429 problem document with Retry-After and the IETF
// RateLimit headers (draft 8). Counters are shared by every API process on the database (rate-limit-store.ts):
// behind a load balancer the budget is the key's, not each process's.
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from './errors.js';
import { DatabaseRateLimitStore } from './rate-limit-store.js';
import { isBulkRequest } from './admission.js';

class TooManyRequestsError extends AppError {
  readonly status = 429;
  readonly title = 'Too many requests';
}

interface RateLimits {
  /** Requests per minute per API key (every API route); 0 turns limits off. */
  perMinute: number;
  /** Batches and CSV imports per minute per API key; 0 turns this limit off. */
  batchesPerMinute: number;
}

const WINDOW_MS = 60_000;

function limiter(limit: number, name: string, applies: (method: string, path: string) => boolean): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit,
    identifier: name,
    store: new DatabaseRateLimitStore(`${name}:`),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => !applies(req.method, req.path),
    // A key's budget is its own. The one call made without a key, the browser's sign-in (POST /session), is
    // counted per client address instead, which also bounds guessing keys through it.
    keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${ipKeyGenerator(req.ip ?? '')}`),
    handler: (_req, _res, next) => {
      next(new TooManyRequestsError(`This API key sent more than ${limit} ${name === 'batches' ? 'batches and imports' : 'requests'} in a minute; retry after the time in Retry-After.`));
    },
  });
}

/** The limits to mount on the API router after authentication (none when both are 0). */
export function rateLimits(limits: RateLimits): RequestHandler[] {
  const out: RequestHandler[] = [];
  if (limits.perMinute > 0) out.push(limiter(limits.perMinute, 'requests', () => true));
  if (limits.batchesPerMinute > 0) out.push(limiter(limits.batchesPerMinute, 'batches', isBulkRequest));
  return out;
}
