// One error hierarchy for the whole service and one translator to RFC 9457 problem documents. Services throw
// these; the HTTP layer never builds error bodies by hand. Anything else that reaches the translator is a bug:
// it is logged with its stack and answered as a bare 500, never shown to the caller.
import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from './logger.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from './db-unavailable.js';

export interface FieldError {
  /** Dotted path of the offending input, e.g. `fields.hireDate` or `users[3].email`. */
  path: string;
  message: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  readonly errors: FieldError[] | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(detail: string, errors?: FieldError[], extra?: Record<string, unknown>) {
    super(detail);
    this.name = new.target.name;
    this.errors = errors;
    this.extra = extra;
  }

  /** Response headers this kind of error calls for (e.g. `WWW-Authenticate` on a 401); none by default. */
  get headers(): Record<string, string> | undefined {
    return undefined;
  }

  /** The problem `type` URI: stable, one per kind of error. */
  get type(): string {
    return `https://autogroups.dev/problems/${this.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  }
}

export class ValidationError extends AppError {
  readonly status = 400;
  readonly title = 'Invalid request';
}
/**
 * A 401. RFC 9110 requires a challenge on every 401, and API.md promises `WWW-Authenticate: Bearer`: credentials
 * that are absent (or not Bearer) get the bare challenge, a key that is not known gets `error="invalid_token"`
 * (RFC 6750 §3: no error code when the request carried no token).
 */
export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  readonly invalidToken: boolean;

  constructor(detail: string, opts: { invalidToken?: boolean } = {}) {
    super(detail);
    this.invalidToken = opts.invalidToken ?? false;
  }

  override get headers(): Record<string, string> {
    return { 'WWW-Authenticate': `Bearer realm="autogroups"${this.invalidToken ? ', error="invalid_token"' : ''}` };
  }
}
export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly title = 'Forbidden';
}
export class NotFoundError extends AppError {
  readonly status = 404;
  readonly title = 'Not found';
}
export class ConflictError extends AppError {
  readonly status = 409;
  readonly title = 'Conflict';
}
export class PreconditionFailedError extends AppError {
  readonly status = 412;
  readonly title = 'Precondition failed';
}
/** What was there is used up for good (a group key with no uses left). */
export class GoneError extends AppError {
  readonly status = 410;
  readonly title = 'Gone';
}
/** Well-formed input that names something that is not there (e.g. a group id no group has). */
export class UnprocessableContentError extends AppError {
  readonly status = 422;
  readonly title = 'Unprocessable content';
}
export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly title = 'Payload too large';
}
export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
}
export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  readonly title = 'Service unavailable';
  /** Seconds the client should wait before retrying (`Retry-After`); the condition is expected to pass by itself. */
  readonly retryAfterSeconds: number;

  constructor(detail: string, opts: { retryAfterSeconds?: number } = {}) {
    super(detail);
    this.retryAfterSeconds = opts.retryAfterSeconds ?? DATABASE_RETRY_AFTER_SECONDS;
  }

  override get headers(): Record<string, string> {
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }
}

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The `type` our body parsers' `verify` hook gives a body that is not UTF-8 (see body-encoding.ts). */
export const BODY_NOT_UTF8 = 'entity.not.utf8';

export function sendProblem(res: Response, error: AppError): void {
  if (error.headers) res.set(error.headers);
  res
    .status(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(
      JSON.stringify({
        type: error.type,
        title: error.title,
        status: error.status,
        detail: error.message,
        ...(error.errors ? { errors: error.errors } : {}),
        ...(error.extra ?? {}),
      }),
    );
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
  encoding?: string;
  code?: unknown;
}

/** Errors raised by Express's own body parsers (and our `verify` hooks on them), translated into our hierarchy. */
function fromBodyParser(err: BodyParserError, req: Request): AppError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ValidationError('The request body is not valid JSON.', [{ path: 'body', message: err.message ?? 'malformed JSON' }]);
    case 'entity.too.large':
      return new PayloadTooLargeError(`The request body is larger than the limit of ${err.limit ?? '?'} bytes.`);
    case 'request.size.invalid':
      return new ValidationError('The request body is not as long as its Content-Length says.', [{ path: 'body', message: 'does not match Content-Length' }]);
    case BODY_NOT_UTF8:
      return new ValidationError('The request body is not valid UTF-8.', [{ path: 'body', message: 'is not valid UTF-8' }]);
    case 'encoding.unsupported':
      return new UnsupportedMediaTypeError(`The Content-Encoding ${err.encoding ?? ''} is not supported (gzip, deflate and br are).`);
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('The request body must be UTF-8.');
    case 'request.aborted':
      return new ValidationError('The request was aborted by the client.');
    case undefined: {
      // body-parser passes on, untyped, what its decompression stream threw (zlib's and brotli's error codes):
      // the body does not decode as the Content-Encoding it names. That is the client's mistake, not ours.
      const coding = req.headers['content-encoding'];
      if (err.status === 400 && typeof err.code === 'string' && coding !== undefined && coding.toLowerCase() !== 'identity') {
        return new ValidationError(`The request body does not decode as Content-Encoding: ${coding}.`, [{ path: 'body', message: `is not valid ${coding} data` }]);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * A path parameter that is not percent-encoded UTF-8: the router's decoding throws a URIError (with status 400)
 * before any route runs. The API router names the parameter (path-params.ts); anywhere else it is the path.
 */
function fromPathDecoding(err: unknown): AppError | undefined {
  if (!(err instanceof URIError) || (err as { status?: number }).status !== 400) return undefined;
  return new ValidationError('The request path is not valid percent-encoded UTF-8.', [{ path: 'path', message: 'is not valid percent-encoded UTF-8' }]);
}

/**
 * The database cannot be reached (it restarts, the network broke): a 503 the client may retry, logged as a warning
 * (the cause is outside the request, and the database's supervisor or driver logs its own side).
 */
function fromDatabase(err: unknown): AppError | undefined {
  if (!isDatabaseUnavailable(err)) return undefined;
  return new ServiceUnavailableError('The database is not reachable at the moment; retry the request later. A write that failed this way may have been applied in part: sending it again completes it.');
}

/** What the service knows `err` to be (ours, a body parser's, an unreachable database), or undefined for a bug. */
export function knownError(err: unknown, req: Request): AppError | undefined {
  return err instanceof AppError ? err : (fromPathDecoding(err) ?? fromBodyParser(err as BodyParserError, req) ?? fromDatabase(err));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Answered already (a request past its time bound, or a stream that broke): nothing can be sent, and a
      // response cut off mid-body must not look complete.
      logger.warn({ err, reqId: req.id, method: req.method, url: req.originalUrl }, 'error after the response was sent');
      if (!res.writableEnded) res.destroy();
      return;
    }
    const known = knownError(err, req);
    if (known) {
      if (known instanceof ServiceUnavailableError && !(err instanceof AppError)) {
        logger.warn({ err, reqId: req.id, method: req.method, url: req.originalUrl }, 'database unavailable');
      }
      sendProblem(res, known);
      return;
    }
    logger.error({ err, reqId: req.id, method: req.method, url: req.originalUrl }, 'unhandled error');
    res
      .status(500)
      .type(PROBLEM_CONTENT_TYPE)
      .send(
        JSON.stringify({
          type: 'https://autogroups.dev/problems/internal-error',
          title: 'Internal server error',
          status: 500,
          detail: 'An unexpected error occurred; it has been logged.',
        }),
      );
  };
}
