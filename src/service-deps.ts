// What the process gives its routes and jobs: made in lifecycle.ts, passed down. Kept apart from app.ts and
// jobs/index.ts, which import the routes and jobs that use it, so that no module imports its own importer.
import type { Config } from './config.js';
import type { Scheduler } from './jobs/scheduler.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { Clock } from './platform/clock.js';

export interface ServiceDeps {
  scheduler: Scheduler;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** The calendar's now (class sync's end); the system clock but in tests. */
  clock: Clock;
}

/** What a router is given. */
export type RouteDeps = ServiceDeps;

/** What a job definition is given. */
export type JobsDeps = ServiceDeps;
