// SCIM's own error shape (RFC 7644 §3.12): every failure under /scim/v2, whatever raised it, is answered as a
// `urn:ietf:params:scim:api:messages:2.0:Error` body with `application/scim+json`, never as a problem document or
// text. Identity providers show `scimType` and `detail` in their provisioning logs, so the detail names the
// attribute at fault.
import type { ErrorRequestHandler, Response } from 'express';
import { AppError, ServiceUnavailableError, knownError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { SCIM_CONTENT_TYPE, URN } from './urns.js';

/** RFC 7644 Table 9: the scimType values a 400 (or 409, 413) may carry. */
type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly scimType?: ScimType,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

export const invalidValue = (detail: string): ScimError => new ScimError(400, detail, 'invalidValue');
export const invalidSyntax = (detail: string): ScimError => new ScimError(400, detail, 'invalidSyntax');
export const invalidPath = (detail: string): ScimError => new ScimError(400, detail, 'invalidPath');
export const invalidFilter = (detail: string): ScimError => new ScimError(400, detail, 'invalidFilter');
export const mutability = (detail: string): ScimError => new ScimError(400, detail, 'mutability');
export const uniqueness = (detail: string): ScimError => new ScimError(409, detail, 'uniqueness');
export const notFound = (detail: string): ScimError => new ScimError(404, detail);

interface ScimErrorBody {
  schemas: [string];
  status: string;
  scimType?: ScimType;
  detail: string;
}

export function scimErrorBody(err: ScimError): ScimErrorBody {
  return { schemas: [URN.error], status: String(err.status), ...(err.scimType ? { scimType: err.scimType } : {}), detail: err.message };
}

/**
 * The service's own errors in SCIM's terms. A field error list becomes one detail naming every field; a 409 from
 * the directory (an email another user holds) is a `uniqueness` clash.
 */
export function fromAppError(err: AppError): ScimError {
  const fields = err.errors?.length ? ` ${err.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` : '';
  const scimType: ScimType | undefined = err.status === 409 ? 'uniqueness' : err.status === 400 ? 'invalidValue' : err.status === 413 ? 'tooMany' : undefined;
  return new ScimError(err.status, `${err.message}${fields}`, scimType, err.headers ?? {});
}

/** Any error as SCIM would answer it: a ScimError as it is, a known one translated, anything else undefined. */
export function asScimError(err: unknown): ScimError | undefined {
  if (err instanceof ScimError) return err;
  if (err instanceof AppError) return fromAppError(err);
  return undefined;
}

export function sendScimError(res: Response, err: ScimError): void {
  // Kept for the log of recent SCIM requests (request-log.ts).
  res.locals.scimError = scimErrorBody(err);
  res.set(err.headers).status(err.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(scimErrorBody(err)));
}

/**
 * The /scim/v2 router's error handler. What the service knows an error to be comes from the one translator
 * (platform/errors.ts knownError: ours, the body parsers', an unreachable database); it is sent in SCIM's shape.
 * Anything else is a bug: logged, and a bare SCIM 500.
 */
export function scimErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      logger.warn({ err, reqId: req.id, method: req.method, url: req.originalUrl }, 'error after the response was sent');
      if (!res.writableEnded) res.destroy();
      return;
    }
    if (err instanceof ScimError) return sendScimError(res, err);
    const known = knownError(err, req);
    if (known) {
      if (known instanceof ServiceUnavailableError && !(err instanceof AppError)) logger.warn({ err, reqId: req.id }, 'database unavailable');
      const scim = fromAppError(known);
      // A body that does not parse is a syntax error in SCIM's words, not a bad value.
      const syntax = known.status === 400 && known.errors?.some((e) => e.path === 'body');
      return sendScimError(res, syntax ? new ScimError(400, scim.message, 'invalidSyntax', scim.headers) : scim);
    }
    logger.error({ err, reqId: req.id, method: req.method, url: req.originalUrl }, 'unhandled error');
    sendScimError(res, new ScimError(500, 'An unexpected error occurred; it has been logged.'));
  };
}
