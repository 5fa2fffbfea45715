// A bound on how long a request may take. One that has not answered within it gets a 503 problem document (with
// Retry-After) and its connection back; the work it started is not cancelled (a batch already writing finishes,
// its users' versions claimed in the outbox, see directory/user-writes.ts) and whatever it answers later is dropped. The bound must exceed the longest
// legitimate request: a 10,000-user batch (README "Reliability" gives its measured time).
import type { RequestHandler } from 'express';
import { sendProblem, ServiceUnavailableError, type AppError } from './errors.js';

/** `res.locals` key: a router whose errors have another shape (SCIM's) puts its sender there. */
export const TIMEOUT_SENDER = 'timeoutSender';

export function requestTimeout(timeoutMs: number): RequestHandler {
  return (req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      const error = new ServiceUnavailableError(`The request did not finish within ${timeoutMs} ms; it may still complete. Retry it later (a repeated write changes nothing twice).`, {
        retryAfterSeconds: 5,
      });
      const send = res.locals[TIMEOUT_SENDER] as ((err: AppError) => void) | undefined;
      if (send) send(error);
      else sendProblem(res, error);
    }, timeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}
