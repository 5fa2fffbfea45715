// Request validation: one joi pass per part with abortEarly off, so a caller learns every bad field at once.
// Validated (converted, defaulted) values replace the raw ones: handlers read `req.body`, and `res.locals.query`
// / `res.locals.params` (Express 5 makes req.query read-only).
import Joi from 'joi';
import type { RequestHandler } from 'express';
import { UnsupportedMediaTypeError, ValidationError, type FieldError } from './errors.js';

export interface RequestSchemas {
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.Schema;
}

/** Joi path array → `users[3].fields.hireDate`. */
export function joinPath(path: ReadonlyArray<string | number>, prefix = ''): string {
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
 * Keys starting with `$` or containing `.` are refused everywhere (they would be operators or paths to the
 * database), and so is nesting deeper than any resource of this API needs.
 */
export function unsafeKeyErrors(value: unknown, path = '', depth = 0): FieldError[] {
  if (value === null || typeof value !== 'object') return [];
  if (depth > MAX_DEPTH) return [{ path: path || 'body', message: `is nested deeper than ${MAX_DEPTH} levels` }];
  const errors: FieldError[] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => errors.push(...unsafeKeyErrors(v, `${path}[${i}]`, depth + 1)));
    return errors;
  }
  for (const [key, v] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if (key.startsWith('$') || key.includes('.')) {
      errors.push({ path: here, message: 'keys may not start with "$" or contain "."' });
    } else {
      errors.push(...unsafeKeyErrors(v, here, depth + 1));
    }
    if (errors.length >= 100) break;
  }
  return errors;
}

function hasBody(req: Parameters<RequestHandler>[0]): boolean {
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
    if (schemas.body) {
      if (hasBody(req) && !req.is('application/json')) {
        throw new UnsupportedMediaTypeError('Send the body as application/json.');
      }
      const body: unknown = req.body ?? {};
      const unsafe = unsafeKeyErrors(body);
      if (unsafe.length) {
        errors.push(...unsafe);
      } else {
        const r = schemas.body.validate(body, { abortEarly: false, convert: false });
        if (r.error) errors.push(...joiErrors(r.error));
        else req.body = r.value;
      }
    }
    if (errors.length) throw new ValidationError(`The request has ${errors.length} invalid field${errors.length > 1 ? 's' : ''}.`, errors);
    next();
  }, schemas);
}
