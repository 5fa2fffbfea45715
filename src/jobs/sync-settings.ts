// Settings the membership jobs share, derived from the configuration.
import type { Config } from '../config.js';
import type { SafetyValve } from '../membership/policy.js';
import type { Metrics, SyncKind } from '../platform/metrics.js';

export function valveOf(config: Config): SafetyValve {
  return { share: config.removalSafetyShare, minMembers: config.removalSafetyMinMembers };
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
