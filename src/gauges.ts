// What the operations gauges read on each scrape of /metrics (see platform/metrics.ts). Each reads one small
// collection whole, never a large one: the embedded database's count() decodes every document, so counting memberships or
// history on every scrape would cost seconds.
// - jobs waiting: Agenda's own documents, which hold only scheduled, running and failed jobs (completed ones are
//   removed), at most MAX_JOB_DOCUMENTS of them;
// - held removals: one sync-state document per automatic group;
// - reactions owed: the outbox's open writes, only writes in flight and failures.
import type { Db } from 'mongodb';
import type { GaugeSources } from './platform/metrics.js';
import { GroupSyncModel, type GroupSyncDoc } from './membership/group-state.model.js';
import { readBacklog } from './directory/user-events.js';
import type { Collection } from 'mongodb';

const MAX_JOB_DOCUMENTS = 10_000;

interface AgendaJobDoc {
  name: string;
  nextRunAt?: Date | null;
  lockedAt?: Date | null;
  disabled?: boolean;
}

export function gaugeSources(db: Db): GaugeSources {
  return {
    async jobsWaiting() {
      const now = Date.now();
      const out = new Map<string, number>();
      const docs = db
        .collection<AgendaJobDoc>('agendaJobs')
        .find({}, { projection: { name: 1, nextRunAt: 1, lockedAt: 1, disabled: 1 } })
        .limit(MAX_JOB_DOCUMENTS);
      for await (const j of docs) {
        if (j.disabled || j.lockedAt || !j.nextRunAt || j.nextRunAt.getTime() > now) continue;
        out.set(j.name, (out.get(j.name) ?? 0) + 1);
      }
      return out;
    },
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
