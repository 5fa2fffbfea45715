// What the operations gauges read on each scrape of /metrics (see platform/metrics.ts). Each reads one small
// collection whole, never a large one: the embedded database's count() decodes every document, so counting memberships or
// history on every scrape would cost seconds.
// - jobs waiting: the scheduler's own documents (Scheduler.dueWaiting);
// - held removals: one sync-state document per automatic group;
// - reactions owed: the outbox's open writes, only writes in flight and failures.
import type { GaugeSources } from './platform/metrics.js';
import { GroupSyncModel, type GroupSyncDoc } from './membership/group-state.model.js';
import { readBacklog } from './directory/user-events.js';
import type { Collection } from 'mongodb';
import type { Scheduler } from './jobs/scheduler.js';

export function gaugeSources(scheduler: Scheduler): GaugeSources {
  return {
    jobsWaiting: () => scheduler.dueWaiting(),
    async heldRemovals() {
      const out = new Map<string, number>();
      const coll = GroupSyncModel.collection as unknown as Collection<GroupSyncDoc>;
      for await (const s of coll.find({}, { projection: { heldRemovals: 1 } })) if (s.heldRemovals) out.set(s._id, s.heldRemovals);
      return out;
    },
    async reactionsOwed() {
      const backlog = await readBacklog();
      return { writes: backlog.length, users: backlog.reduce((n, e) => n + e.users, 0) };
    },
  };
}
