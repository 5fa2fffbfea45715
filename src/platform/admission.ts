// Admission by class of work. Interactive requests (a members page, one user's PATCH, an enrolment) and bulk
// requests (batches, CSV imports, member copies: each may carry 10,000 users and some thousands of round trips)
// share this process's event loop and its 20 driver connections (platform/db/embedded-db.ts), and on the embedded
// database the same two CPU cores. Under load, five batches at once made every members page wait 7.5 s and left
// half the batches unanswered after a minute (docs/reliability.md, "Load"). So a process runs at most
// BULK_REQUESTS_IN_FLIGHT bulk requests at a time, and answers one more at once with a 503 problem document and
// Retry-After (about when a running one ends) instead of queueing it: its body is not even parsed,
// it writes nothing, and the client sends it again later (repeating a batch changes nothing twice).
//
// The bound is per process on purpose: what it protects is the process's own (its event loop, its driver pool,
// and the FerretDB connection budget, which embedded-db.ts sizes per process). Several API processes each admit
// their own few, as each brings its own pool; the database-wide bounds stay where they are (leases, the update
// slots of update-budget.ts). Interactive requests are not bounded here: their database reads already wait in
// their own small queues (groupPageRead, the update slots), and refusing them would move the wait to the client.
import type { RequestHandler, Response } from 'express';
import { ServiceUnavailableError } from './errors.js';

/** The writes of many records at once, by path inside /api/v1: batches, CSV imports (users, group members), member copies. */
const BULK_PATHS = /^\/(users\/batch|users\/import|enrollments\/batch|groups\/[^/]+\/members\/(import|copy))$/;

export function isBulkRequest(method: string, path: string): boolean {
  return method === 'POST' && BULK_PATHS.test(path);
}

/** How many recent bulk requests' durations the Retry-After estimate reads. */
const DURATIONS_KEPT = 20;
/** Retry-After before any bulk request has been answered here, and its bounds. */
const FIRST_RETRY_AFTER_SECONDS = 5;
const MAX_RETRY_AFTER_SECONDS = 60;

interface AdmissionOptions {
  /** Bulk requests this process runs at once (BULK_REQUESTS_IN_FLIGHT). */
  bulkInFlight: number;
  /** REQUEST_TIMEOUT_MS: a client that hung up before the answer frees its slot at the latest after this long. */
  requestTimeoutMs: number;
}

export interface BulkAdmission {
  /** On the /api/v1 router: admits its bulk requests (isBulkRequest) and passes every other request on. */
  apiRequests: RequestHandler;
  /** On a route that is bulk work as a whole (SCIM's POST /Bulk): admits every request it sees. */
  everyRequest: RequestHandler;
}

/**
 * One per process, mounted wherever bulk work comes in (the API router, SCIM's Bulk), after authentication and rate
 * limits and before the bodies are parsed: every way in counts against the same bound. A refusal goes to the
 * router's error handler, so each router answers it in its own shape (a problem document, a SCIM error).
 */
export function bulkAdmission(opts: AdmissionOptions): BulkAdmission {
  /** When each running bulk request started. */
  const running = new Set<{ started: number }>();
  const durations: number[] = [];

  /**
   * About when a slot frees, in whole seconds: what the running request that started first has left of the
   * median recent bulk request's duration (at least a second).
   */
  const retryAfterSeconds = (): number => {
    if (durations.length === 0) return FIRST_RETRY_AFTER_SECONDS;
    const sorted = [...durations].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const oldest = Math.min(...[...running].map((r) => r.started));
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil((median - (Date.now() - oldest)) / 1000)));
  };

  const everyRequest: RequestHandler = (_req, res, next) => {
    if (running.size >= opts.bulkInFlight) {
      const seconds = retryAfterSeconds();
      next(
        new ServiceUnavailableError(`This process is already running ${opts.bulkInFlight} batch or import request${opts.bulkInFlight === 1 ? '' : 's'} (BULK_REQUESTS_IN_FLIGHT); nothing was written. Send it again after the time in Retry-After.`, {
          retryAfterSeconds: seconds,
        }),
      );
      return;
    }
    const slot = { started: Date.now() };
    running.add(slot);
    const release = () => {
      if (!running.delete(slot)) return;
      durations.push(Date.now() - slot.started);
      if (durations.length > DURATIONS_KEPT) durations.shift();
    };
    releaseWhenAnswered(res, release, opts.requestTimeoutMs);
    next();
  };
  return {
    everyRequest,
    apiRequests: (req, res, next) => (isBulkRequest(req.method, req.path) ? everyRequest(req, res, next) : next()),
  };
}

/**
 * The slot is the work's, not the connection's: it frees when the handler answers (its first `end`), which it
 * does even after the client hung up, or when the request's time bound answers 503 (whose work may go on, as any
 * request past that bound). A client that hung up stops that bound's timer, so a handler that never answers then
 * frees the slot after the bound from the hang-up instead of holding it forever.
 */
function releaseWhenAnswered(res: Response, release: () => void, timeoutMs: number): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    release();
    return end(...args);
  }) as Response['end'];
  res.once('close', () => {
    if (!res.writableEnded) setTimeout(release, timeoutMs).unref();
  });
}
