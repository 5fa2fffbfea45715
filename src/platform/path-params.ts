// Path parameters that are not percent-encoded UTF-8 (`/users/%ff`): the router decodes a route's parameters
// while matching it and throws a URIError before any handler runs, so neither `validate` nor `req.params` ever
// sees them. This error handler, mounted after the API's routes, finds the route the path was matched against in
// the router's own table and names each parameter that does not decode.
import type { ErrorRequestHandler, Router } from 'express';
import { ValidationError, type FieldError } from './errors.js';

interface RoutePattern {
  segments: string[];
  methods: Record<string, boolean>;
}

interface Stacked {
  route?: { path: unknown; methods?: Record<string, boolean> };
  handle: unknown;
}

/** Every route of a router and of the routers mounted in it (the API mounts each domain's router at '/'). */
function patternsOf(router: { stack?: Stacked[] }): RoutePattern[] {
  const out: RoutePattern[] = [];
  for (const layer of router.stack ?? []) {
    if (layer.route && typeof layer.route.path === 'string') {
      out.push({ segments: layer.route.path.split('/'), methods: layer.route.methods ?? {} });
    } else if (typeof layer.handle === 'function' && Array.isArray((layer.handle as { stack?: unknown }).stack)) {
      out.push(...patternsOf(layer.handle as unknown as { stack: Stacked[] }));
    }
  }
  return out;
}

function decodes(raw: string): boolean {
  try {
    decodeURIComponent(raw);
    return true;
  } catch {
    return false;
  }
}

/** The `:name` segments of the route that `path` matches (literal segments compared as the router does). */
function paramsOf(pattern: RoutePattern, segments: string[]): Array<[string, string]> | undefined {
  if (pattern.segments.length !== segments.length) return undefined;
  const params: Array<[string, string]> = [];
  for (const [i, part] of pattern.segments.entries()) {
    const raw = segments[i]!;
    if (part.startsWith(':')) {
      if (raw === '') return undefined;
      params.push([part.slice(1), raw]);
    } else if (part.toLowerCase() !== raw.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

export function pathParamErrors(router: Router): ErrorRequestHandler {
  let patterns: RoutePattern[] | undefined;
  return (err, req, _res, next) => {
    if (!(err instanceof URIError) || (err as { status?: number }).status !== 400) return next(err);
    patterns ??= patternsOf(router as unknown as { stack: Stacked[] });
    const segments = req.path.split('/');
    if (segments.length > 2 && segments.at(-1) === '') segments.pop(); // the router is not strict: `/users/x/` is `/users/x`
    const method = req.method.toLowerCase();
    const matches = patterns.flatMap((p) => {
      const params = paramsOf(p, segments);
      return params ? [{ p, params }] : [];
    });
    const match = matches.find((m) => m.p.methods[method]) ?? matches[0];
    const errors: FieldError[] = (match?.params ?? [])
      .filter(([, raw]) => !decodes(raw))
      .map(([name]) => ({ path: name, message: 'is not valid percent-encoded UTF-8' }));
    if (errors.length === 0) return next(err);
    next(new ValidationError(`The request has ${errors.length} invalid path parameter${errors.length > 1 ? 's' : ''}.`, errors));
  };
}
