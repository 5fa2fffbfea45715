// The /api/v1 routes of a live app, read from Express's router: each with its method, its path in OpenAPI form
// and the handlers it runs (the validators among them).
import type { Express } from 'express';
import type { TestService } from './service.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean>; stack: Array<{ handle: unknown; method?: string }> };
  handle?: { stack?: Layer[] };
  /** Express 5's router: the part of a request path the layer's mount path matches, or false. */
  match?(path: string): false | { path: string };
}

export interface ServedRoute {
  method: string;
  /** e.g. /api/v1/groups/{id}/rule */
  path: string;
  handlers: unknown[];
}

export function servedRoutes(t: TestService): ServedRoute[] {
  const app = t.service.server.listeners('request')[0] as Express;
  const out: ServedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) {
          if (m === 'head' || m === '_all') continue;
          out.push({
            method: m,
            path: `${prefix}${layer.route.path.replace(/:(\w+)/g, '{$1}')}`,
            handlers: layer.route.stack.filter((l) => l.method === undefined || l.method === m).map((l) => l.handle),
          });
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix);
      }
    }
  };
  // Routers are mounted without a path inside the /api/v1 router (other top-level routers, such as the job
  // dashboard's, serve other paths).
  for (const layer of (app as unknown as { router: { stack: Layer[] } }).router.stack) {
    if (!layer.route && layer.handle?.stack && (layer.match?.('/api/v1/any') || undefined)?.path === '/api/v1') walk(layer.handle.stack, '/api/v1');
  }
  return out;
}
