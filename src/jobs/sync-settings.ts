// Settings the membership jobs share, derived from the configuration.
import type { Config } from '../config.js';
import type { SafetyValve } from '../membership/policy.js';
import type { Metrics, SyncKind } from '../platform/metrics.js';

export function valveOf(config: Config): SafetyValve {
  return { share: config.removalSafetyShare, minMembers: config.removalSafetyMinMembers };
}

/**
 * How long a sync job's lock lasts without progress before another worker may take the job over. Sync jobs
 * report progress (which extends the lock) at least every thousand users; a hundred polling intervals leaves a
 * wide margin in production (100 s at the default 1 s) and lets tests see a killed worker's job taken over soon.
 */
export function syncLockLifetimeMs(config: Config): number {
  return Math.max(5_000, config.jobPollMs * 100);
}

/** Runs a sync and records its duration by kind and outcome (autogroups_sync_duration_seconds). */
export async function timedSync<T>(metrics: Metrics, kind: SyncKind, run: () => Promise<T>): Promise<T> {
  const end = metrics.syncDuration.startTimer({ kind });
  try {
    const result = await run();
    end({ outcome: 'completed' });
    return result;
  } catch (err) {
    end({ outcome: 'failed' });
    throw err;
  }
}
