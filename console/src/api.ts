// The console's one way to the service: the public API under /api/v1 with the session cookie (sent by the
// browser, HttpOnly) and, on state-changing calls, the session's CSRF token in X-CSRF-Token.

import type { components } from './generated/api-schema.js';

/** One entry of a problem document's `errors` (the API's Problem schema). */
export type ProblemError = NonNullable<components['schemas']['Problem']['errors']>[number];

/** An RFC 9457 problem document the API answered, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: ProblemError[],
  ) {
    super(detail || title);
  }
}


let csrfToken: string | undefined;

/** Fired on window when the API answers 401 to a call made with the session. */
export const SIGNED_OUT_EVENT = 'autogroups:signed-out';

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  body: T;
  etag: string | null;
  status: number;
}

async function problemOf(res: Response): Promise<ApiError> {
  let doc: { title?: string; detail?: string; errors?: ProblemError[] } = {};
  try {
    doc = (await res.json()) as typeof doc;
  } catch {
    // not a problem document (a proxy's page): the status says enough
  }
  return new ApiError(res.status, doc.title ?? res.statusText, doc.detail ?? '', Array.isArray(doc.errors) ? doc.errors : []);
}

export async function call<T>(path: string, opts: CallOptions = {}): Promise<ApiResponse<T>> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, credentials: 'same-origin', ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  } catch (err) {
    throw new ApiError(0, 'Network error', `The service could not be reached: ${(err as Error).message}`, []);
  }
  if (!res.ok) {
    const problem = await problemOf(res);
    // The session ended under the page (signed out elsewhere, expired, its key revoked): back to the sign-in page.
    if (res.status === 401 && path !== '/session') dispatchEvent(new Event(SIGNED_OUT_EVENT));
    throw problem;
  }
  const body = res.status === 204 ? (undefined as T) : ((await res.json()) as T);
  return { body, etag: res.headers.get('ETag'), status: res.status };
}

export const get = async <T>(path: string): Promise<T> => (await call<T>(path)).body;
export const send = async <T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<T> =>
  (await call<T>(path, { method, body, ...(headers ? { headers } : {}) })).body;

/** A query string from the defined entries only. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
