// GET /console: the admin console, a static page and bundle built from console/ into dist/console by
// tools/build-console.ts (npm's prestart/pretest/prepare run it). The page talks only to the public API with the
// session cookie. Its script and stylesheet are files of this origin, so helmet's CSP (script-src 'self') holds.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { ServiceUnavailableError } from '../platform/errors.js';

const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/console');

export function consoleRoutes(dir = CONSOLE_DIR): Router {
  const router = Router();
  router.use((_req, _res, next) => {
    // Checked per request, not at start: a build run after the service started is picked up.
    if (!existsSync(path.join(dir, 'index.html'))) {
      return next(new ServiceUnavailableError('The console is not built: run `npm run console:build` (npm start and npm test build it).'));
    }
    next();
  });
  // The page names its assets by fixed paths: revalidate each load so a rebuilt console is never mixed with a cached one.
  router.use(express.static(dir, { index: 'index.html', redirect: true, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));
  return router;
}
