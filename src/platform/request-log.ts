// One structured log line per request (id, method, route, status, duration) and its latency metric.
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    req.id = given && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Express resets req.baseUrl once a router is left; mountPath() recorded it while inside.
      const route = req.route?.path ? `${String(res.locals.mountPath ?? '')}${String(req.route.path)}` : 'unmatched';
      metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      logger.info(
        {
          reqId: req.id,
          method: req.method,
          path: req.originalUrl.split('?')[0],
          route,
          status: res.statusCode,
          durationMs: Math.round(seconds * 1e4) / 10,
          key: req.principal?.keyId,
        },
        'request',
      );
    });
    next();
  };
}

/** Records where the current router is mounted, for the route label above. */
export const mountPath: RequestHandler = (req, res, next) => {
  res.locals.mountPath = req.baseUrl;
  next();
};
