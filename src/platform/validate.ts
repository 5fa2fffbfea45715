// Request validation: one joi pass per part with abortEarly off, so a caller learns every bad field at once.
// Validated (converted, defaulted) values replace the raw ones: handlers read `req.body`, and `res.locals.query`
// / `res.locals.params` (Express 5 makes req.query read-only).
import Joi from 'joi';
import type { RequestHandler } from 'express';
import { UnsupportedMediaTypeError, ValidationError, type FieldError } from './errors.js';
import { isCheckedByService } from './openapi-schema.js';

export interface RequestSchemas {
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  /**
   * The body the operation takes. Without one the operation takes no body, and a request that sends one (even
   * `{}`) is a 400: a body the service ignored would let the caller believe it had been applied. A schema marked
   * `checkedByService` (openapi-schema.ts) only asks for a JSON object here, handed on unscreened to a service
   * that screens and checks it in one pass with data the route does not have (a user's fields against their
   * definitions), so that one answer names every error.
   */
  body?: Joi.Schema;
}

/** Joi path array → `users[3].fields.hireDate`. */
function joinPath(path: ReadonlyArray<string | number>, prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

export function joiErrors(error: Joi.ValidationError, prefix = ''): FieldError[] {
  return error.details.map((d) => ({
    path: joinPath(d.path, prefix) || prefix || 'body',
    message: d.message.replace(/^"[^"]*" /, ''),
  }));
}

const MAX_DEPTH = 32;
/**
 * Keys that would reach an object's prototype when copied by assignment (joi's clone, object spread into a
 * target, `Object.assign`): `JSON.parse` makes them ordinary own keys, so they must be refused before any copy.
 */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
const prototypeKeys: ReadonlySet<string> = new Set(PROTOTYPE_KEYS);
/** In a `u` regexp a surrogate class matches only unpaired halves, which no UTF-8 text can carry. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const MAX_SCREEN_ERRORS = 100;

function keyProblem(key: string): string | undefined {
  if (key.startsWith('$') || key.includes('.')) return 'keys may not start with "$" or contain "."';
  if (prototypeKeys.has(key)) return `"${key}" is not allowed as a key`;
  if (LONE_SURROGATE.test(key)) return 'is a key that is not valid Unicode (an unpaired surrogate)';
  return undefined;
}

/** What screenInput found, and a copy of the input without the refused keys (or too-deep parts) for the other checks. */
interface Screened {
  value: unknown;
  errors: FieldError[];
}

/**
 * The checks every untrusted JSON input gets before any other reads it: keys starting with `$` or containing `.`
 * (operators or paths to the database), the prototype keys, strings and keys holding unpaired surrogates (they
 * cannot be stored as UTF-8 and would read back changed), and nesting deeper than any resource needs. The copy
 * leaves out what was refused, so that the input's other errors can be found and reported alongside.
 */
export function screenInput(input: unknown): Screened {
  const errors: FieldError[] = [];
  const walk = (value: unknown, path: string, depth: number): unknown => {
    if (errors.length >= MAX_SCREEN_ERRORS) return undefined;
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) errors.push({ path: path || 'body', message: 'is not valid Unicode (an unpaired surrogate)' });
      return value;
    }
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) {
      errors.push({ path: path || 'body', message: `is nested deeper than ${MAX_DEPTH} levels` });
      return undefined;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`, depth + 1));
    // Built by definition, never by assignment: no key of the input can reach the copy's prototype.
    const copy: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const here = path ? `${path}.${key}` : key;
      const problem = keyProblem(key);
      if (problem) errors.push({ path: here, message: problem });
      else Object.defineProperty(copy, key, { value: walk(v, here, depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  };
  const value = walk(input, '', 0);
  return { value, errors };
}

/**
 * The screen's errors with the other checks' errors (made on the screened copy), less those the screen already
 * explains: a place that holds a refused key, or lost a too-deep part, only looks wrong because of that.
 */
export function alongsideScreen(screen: readonly FieldError[], others: readonly FieldError[]): FieldError[] {
  const explained = (path: string) =>
    screen.some((s) => s.path === path || path === 'body' || s.path.startsWith(`${path}.`) || s.path.startsWith(`${path}[`));
  return [...screen, ...others.filter((e) => !screen.length || !explained(e.path))];
}

/** Whether the request carries a body (a zero Content-Length is none). */
export function hasBody(req: Parameters<RequestHandler>[0]): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

const REQUEST_SCHEMAS = Symbol('request schemas');

/** Marks a middleware with the schemas it checks, so that the OpenAPI description can be compared with them. */
export function withRequestSchemas<T extends RequestHandler>(handler: T, schemas: RequestSchemas): T {
  return Object.assign(handler, { [REQUEST_SCHEMAS]: schemas });
}

/** The schemas a middleware made by validate() (or marked by withRequestSchemas) checks; undefined for others. */
export function requestSchemasOf(handler: unknown): RequestSchemas | undefined {
  return typeof handler === 'function' ? (handler as { [REQUEST_SCHEMAS]?: RequestSchemas })[REQUEST_SCHEMAS] : undefined;
}

export function validate(schemas: RequestSchemas): RequestHandler {
  const handedOn = schemas.body !== undefined && isCheckedByService(schemas.body);
  return withRequestSchemas((req, res, next) => {
    const errors: FieldError[] = [];
    if (schemas.params) {
      const r = schemas.params.validate(req.params, { abortEarly: false, convert: true });
      if (r.error) errors.push(...joiErrors(r.error));
      else res.locals.params = r.value;
    }
    if (schemas.query) {
      const r = schemas.query.validate(req.query, { abortEarly: false, convert: true });
      if (r.error) errors.push(...joiErrors(r.error));
      else res.locals.query = r.value;
    }
    if (!schemas.body) {
      if (hasBody(req)) errors.push({ path: 'body', message: 'is not taken by this operation: send the request without one' });
    } else {
      if (hasBody(req) && !req.is('application/json')) {
        throw new UnsupportedMediaTypeError('Send the body as application/json.');
      }
      const body: unknown = req.body ?? {};
      if (handedOn) {
        if (body === null || typeof body !== 'object' || Array.isArray(body)) errors.push({ path: 'body', message: 'must be of type object' });
      } else {
        const screened = screenInput(body);
        const r = schemas.body.validate(screened.value, { abortEarly: false, convert: false });
        const bodyErrors = alongsideScreen(screened.errors, r.error ? joiErrors(r.error) : []);
        if (bodyErrors.length) errors.push(...bodyErrors);
        else req.body = r.value;
      }
    }
    if (errors.length) throw new ValidationError(`The request has ${errors.length} invalid field${errors.length > 1 ? 's' : ''}.`, errors);
    next();
  }, schemas);
}
