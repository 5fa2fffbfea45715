// Every job this service runs, defined in one place. Each job lives in its own file under jobs/ with a name
// constant and an idempotent handler that calls services.
import type { Scheduler } from './scheduler.js';
import type { Config } from '../config.js';
import type { Logger } from '../platform/logger.js';

export interface JobsDeps {
  scheduler: Scheduler;
  config: Config;
  logger: Logger;
}

export function defineJobs(_deps: JobsDeps): void {
  // Domain jobs register here.
}

/** Recurring schedules; created by processes that run jobs. */
export async function scheduleRecurringJobs(_deps: JobsDeps): Promise<void> {
  // The nightly full sync registers here.
}
