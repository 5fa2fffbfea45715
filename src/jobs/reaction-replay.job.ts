// Finishes the reactions of directory writes that failed (or whose process died while reacting): applies each open
// write again (src/directory/user-writes.ts) to its users as stored now. Enqueued at once for each failure, with the
// write's id; swept every five minutes for every due write (replays back off). The sweep also settles the membership
// writes that died before logging their changes (src/changes/log-intents.ts) and prunes the outbox's old events. Idempotent: memberships and history have deterministic ids, and an applied write closes.
import type { JobsDeps } from '../service-deps.js';
import { replayDue } from '../directory/user-writes.js';
import { pruneEvents } from '../directory/user-events.js';
import { finishStaleIntents } from '../changes/log-intents.js';
import { finishIntent } from '../membership/membership-store.js';

export const REACTION_REPLAY_JOB = 'reaction-replay';
/**
 * The sweep: every five minutes, so that a retry waits at most that beyond its backoff. Each run of a recurring job
 * leaves a job record (GET /jobs), so it runs no more often than the snapshot refresh does.
 */
export const REACTION_SWEEP_CRON = '*/5 * * * *';

export interface ReactionReplayJobData {
  /** The open write whose reaction failed; absent for the sweep of every due write. */
  writeId?: string;
}

export const reactionReplayJobId = (writeId: string, attempt: number): string => `${REACTION_REPLAY_JOB}:${writeId}:${attempt}`;

export function defineReactionReplayJob({ scheduler }: JobsDeps): void {
  scheduler.define<ReactionReplayJobData>({
    name: REACTION_REPLAY_JOB,
    concurrency: 1,
    async run(data, ctx) {
      const result = await replayDue({ ...(data.writeId ? { only: data.writeId } : {}), progress: ctx.progress });
      // A failed replay stays open with its next attempt; failing the job makes it visible (status, metric).
      if (result.failed > 0) throw new Error(`${result.failed} directory write(s) failed to apply again: ${result.errors.slice(0, 3).join('; ')}`);
      if (data.writeId) return { ...result, pruned: 0 };
      const intents = await finishStaleIntents(finishIntent);
      if (intents.failed > 0) throw new Error(`${intents.failed} interrupted membership write(s) could not be settled; the next sweep tries again`);
      return { ...result, pruned: await pruneEvents(), unloggedWritesSettled: intents.settled };
    },
  });
}

export async function scheduleReactionSweep({ scheduler }: JobsDeps): Promise<void> {
  await scheduler.every(REACTION_SWEEP_CRON, REACTION_REPLAY_JOB);
}
