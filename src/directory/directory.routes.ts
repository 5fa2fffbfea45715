import { Router } from 'express';
import type { RouteDeps } from '../app.js';

export function directoryRoutes(_deps: RouteDeps): Router {
  return Router();
}

export const directoryOpenApi: Record<string, unknown> = {};
export const directorySchemas: Record<string, unknown> = {};
