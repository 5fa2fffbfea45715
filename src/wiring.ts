// The process's wiring of what crosses domains, installed once at start (lifecycle.ts): what directory writes'
// reactions need (src/reactions.ts), the replay of a write whose reaction failed, the directory's question which
// rules use a field, and the enrolment of whoever joins a group with courses.
import type { Clock } from './platform/clock.js';
import type { Config } from './config.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { Scheduler } from './jobs/scheduler.js';
import { useReactionContext } from './reactions.js';
import type { ReactionFaults } from './membership/on-change.js';
import { setReactionFailureHook } from './directory/user-events.js';
import { setFieldUsageLookup } from './directory/field-usage.js';
import { groupNamesUsingField } from './groups/groups.service.js';
import { setMembershipsAddedHook, setMembershipsMovedHook } from './membership/membership-store.js';
import { followMembershipChanges } from './membership/group-cascade.js';
import { enrollJoiners } from './groups/group-courses.js';
import { REACTION_REPLAY_JOB, reactionReplayJobId, type ReactionReplayJobData } from './jobs/reaction-replay.job.js';

export interface ReactionDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  scheduler: Scheduler;
  clock: Clock;
  faults?: ReactionFaults;
}

/** Returns a function that unwires everything (stop). */
export function wireReactions(deps: ReactionDeps): () => void {
  const unuse = useReactionContext({
    valve: { share: deps.config.removalSafetyShare, minMembers: deps.config.removalSafetyMinMembers },
    metrics: deps.metrics,
    logger: deps.logger,
    clock: deps.clock,
    ...(deps.faults ? { faults: deps.faults } : {}),
  });
  // A failed reaction leaves its write open (user-events.ts); its replay starts at once. The id names the write and
  // the attempt, so two processes reporting the same failure enqueue one job.
  const previousHook = setReactionFailureHook(async ({ id, attempts }) => {
    deps.metrics.reactionFailures.inc();
    const data: ReactionReplayJobData = { writeId: id };
    await deps.scheduler.enqueue(REACTION_REPLAY_JOB, data, { jobId: reactionReplayJobId(id, attempts), actor: 'directory-outbox' });
  });
  const previousLookup = setFieldUsageLookup(groupNamesUsingField);
  // Whoever joins a group with courses, by any source, is enrolled in them as they join.
  const previousAdded = setMembershipsAddedHook(enrollJoiners(deps.logger));
  // Whoever joins or leaves a group, by any source, is evaluated again by the groups whose rule names it.
  const previousMoved = setMembershipsMovedHook(async (moves, ctx) => {
    await followMembershipChanges(moves, { ...ctx, valve: { share: deps.config.removalSafetyShare, minMembers: deps.config.removalSafetyMinMembers }, metrics: deps.metrics });
  });
  return () => {
    unuse();
    setMembershipsMovedHook(previousMoved);
    setMembershipsAddedHook(previousAdded);
    setReactionFailureHook(previousHook);
    setFieldUsageLookup(previousLookup);
  };
}
