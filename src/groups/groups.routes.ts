import { Router } from 'express';
import type { RouteDeps } from '../app.js';

export function groupsRoutes(_deps: RouteDeps): Router {
  return Router();
}

export const groupsOpenApi: Record<string, unknown> = {};
export const groupsSchemas: Record<string, unknown> = {};
