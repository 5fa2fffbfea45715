// Cross-domain reactions, wired once per process at start: membership listens to directory changes, the
// directory asks groups which rules use a field, and a join enrols in the group's courses. Kept here so that
// neither domain imports the other's wiring.
import type { Config } from './config.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { Scheduler } from './jobs/scheduler.js';
import { subscribeDirectoryChanges } from './directory/directory-events.js';
import { setReactionFailureHook } from './directory/reaction-journal.js';
import { setFieldUsageLookup } from './directory/field-usage.js';
import { membershipListener } from './membership/on-change.js';
import { classSyncListener } from './class-sync/class-sync.listener.js';
import { groupNamesUsingField } from './groups/groups.service.js';
import { recordChanges } from './snapshot/change-feed.js';
import { setMembershipsAddedHook } from './membership/membership-store.js';
import { enrollJoiners } from './groups/group-courses.js';
import { REACTION_REPLAY_JOB, reactionReplayJobId, type ReactionReplayJobData } from './jobs/reaction-replay.job.js';

export interface ReactionDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  scheduler: Scheduler;
}

/** Returns a function that unwires everything (stop). */
export function wireReactions(deps: ReactionDeps): () => void {
  const valve = { share: deps.config.removalSafetyShare, minMembers: deps.config.removalSafetyMinMembers };
  // Membership follows every directory change before the write answers (publish awaits its listeners).
  const unsubscribe = subscribeDirectoryChanges(membershipListener({ valve, metrics: deps.metrics, logger: deps.logger }));
  // A course's class groups follow its enrolments the same way (src/class-sync).
  const unsubscribeClasses = subscribeDirectoryChanges(classSyncListener({ valve, metrics: deps.metrics }));
  // Previews read the directory snapshot, which learns of changed users from the change feed; a full sync learns
  // there which users changed while it ran (so the feed hears of a change first).
  const unsubscribeFeed = subscribeDirectoryChanges(
    async (changes) => {
      await recordChanges({ users: changes.map((c) => c.externalId) });
    },
    { ahead: true },
  );
  // A failed reaction is journaled (reaction-journal.ts); its replay starts at once. The id names the entry and
  // the attempt, so two processes reporting the same failure enqueue one job.
  const previousHook = setReactionFailureHook(async ({ id, attempts }) => {
    deps.metrics.reactionFailures.inc();
    const data: ReactionReplayJobData = { entryId: id };
    await deps.scheduler.enqueue(REACTION_REPLAY_JOB, data, { jobId: reactionReplayJobId(id, attempts), actor: 'reaction-journal' });
  });
  const previousLookup = setFieldUsageLookup(groupNamesUsingField);
  // Whoever joins a group with courses, by any source, is enrolled in them as they join.
  const previousAdded = setMembershipsAddedHook(enrollJoiners(deps.logger));
  return () => {
    setMembershipsAddedHook(previousAdded);
    unsubscribe();
    unsubscribeClasses();
    unsubscribeFeed();
    setReactionFailureHook(previousHook);
    setFieldUsageLookup(previousLookup);
  };
}
