// Finishes the reactions of directory writes that failed (or whose process died while reacting): publishes the
// journaled changes again through the same listeners (membership's on-change path, the change feed). Enqueued at
// once for each failure, with the journal entry's id; swept every five minutes for every due entry (replays back off).
// Idempotent: listeners write memberships and history with deterministic ids, and a replayed entry is removed.
import type { JobsDeps } from '../service-deps.js';
import { replayDue } from '../directory/directory-events.js';

export const REACTION_REPLAY_JOB = 'reaction-replay';
/**
 * The sweep: every five minutes, so that a retry waits at most that beyond its backoff. Each run of a recurring job
 * leaves a job record (GET /jobs), so it runs no more often than the snapshot refresh does.
 */
export const REACTION_SWEEP_CRON = '*/5 * * * *';

export interface ReactionReplayJobData {
  /** The journal entry whose reaction failed; absent for the sweep of every due entry. */
  entryId?: string;
}

export const reactionReplayJobId = (entryId: string, attempt: number): string => `${REACTION_REPLAY_JOB}:${entryId}:${attempt}`;

export function defineReactionReplayJob({ scheduler }: JobsDeps): void {
  scheduler.define<ReactionReplayJobData>({
    name: REACTION_REPLAY_JOB,
    concurrency: 1,
    async run(data, ctx) {
      const result = await replayDue({ ...(data.entryId ? { only: data.entryId } : {}), progress: ctx.progress });
      // A failed replay stays journaled with its next attempt; failing the job makes it visible (status, metric).
      if (result.failed > 0) throw new Error(`${result.failed} journaled reaction(s) failed again: ${result.errors.slice(0, 3).join('; ')}`);
      return result;
    },
  });
}

export async function scheduleReactionSweep({ scheduler }: JobsDeps): Promise<void> {
  await scheduler.every(REACTION_SWEEP_CRON, REACTION_REPLAY_JOB);
}
