// Prometheus metrics. One registry per app instance, so tests that build several apps do not collide.
//
// Gauges that need the database (jobs waiting, held removals, reactions owed) are computed on scrape by the
// collectors that `lifecycle.ts` installs (see `setGaugeSources`); each reads only a small collection.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type SyncKind = 'change' | 'group' | 'partition' | 'full' | 'class';

export interface GaugeSources {
  /** Jobs due and not yet taken by a worker, by job name. */
  jobsWaiting(): Promise<Map<string, number>>;
  /** Removals the safety valve holds, by group id. */
  heldRemovals(): Promise<Map<string, number>>;
  /** Directory writes whose reaction is owed (failed or late), and the users they name. */
  reactionsOwed(): Promise<{ writes: number; users: number }>;
}

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  /** Every membership written or deleted, by action and membership source (counted by apply.ts and the manual edits). */
  membershipChanges: Counter<'action' | 'source'>;
  syncDuration: Histogram<'kind' | 'outcome'>; // kind: SyncKind
  jobFailures: Counter<'job'>;
  jobRuns: Counter<'job' | 'outcome'>;
  reactionFailures: Counter;
  /** Webhook delivery attempts by outcome (delivered, rejected, error, gone, test_delivered, test_failed). */
  webhookDeliveries: Counter<'outcome'>;
  setGaugeSources(sources: GaugeSources): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let sources: GaugeSources | undefined;
  new Gauge({
    name: 'autogroups_jobs_waiting',
    help: 'Jobs due and not yet taken by a worker, by job name',
    labelNames: ['job'],
    registers: [registry],
    async collect() {
      const waiting = await sources?.jobsWaiting().catch(() => undefined);
      if (!waiting) return; // keeps the last values while the database does not answer
      this.reset();
      for (const [job, n] of waiting) this.set({ job }, n);
    },
  });
  new Gauge({
    name: 'autogroups_held_removals',
    help: 'Removals the safety valve holds until an admin confirms, by group',
    labelNames: ['group'],
    registers: [registry],
    async collect() {
      const held = await sources?.heldRemovals().catch(() => undefined);
      if (!held) return;
      this.reset();
      for (const [group, n] of held) this.set({ group }, n);
    },
  });
  new Gauge({
    name: 'autogroups_directory_reactions_owed',
    help: 'Directory writes whose membership reaction failed or is late (unit "writes"), and the users they name (unit "users"); a replay job finishes them',
    labelNames: ['unit'],
    registers: [registry],
    async collect() {
      const counts = await sources?.reactionsOwed().catch(() => undefined);
      if (!counts) return;
      const { writes, users } = counts;
      this.set({ unit: 'writes' }, writes);
      this.set({ unit: 'users' }, users);
    },
  });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'autogroups_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    membershipChanges: new Counter({
      name: 'autogroups_membership_changes_total',
      help: 'Memberships added and removed, by action and membership source (rule, manual, key, default, csv)',
      labelNames: ['action', 'source'],
      registers: [registry],
    }),
    syncDuration: new Histogram({
      name: 'autogroups_sync_duration_seconds',
      help: 'How long membership evaluations take, by kind (change: a directory write or its replay; group; partition; full) and outcome',
      labelNames: ['kind', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
    jobFailures: new Counter({
      name: 'autogroups_job_failures_total',
      help: 'Job runs that failed, by job name',
      labelNames: ['job'],
      registers: [registry],
    }),
    jobRuns: new Counter({
      name: 'autogroups_job_runs_total',
      help: 'Job runs that finished, by job name and outcome (completed, failed)',
      labelNames: ['job', 'outcome'],
      registers: [registry],
    }),
    reactionFailures: new Counter({
      name: 'autogroups_directory_reaction_failures_total',
      help: 'Directory writes whose reaction failed when they were written (they stay open in the outbox; a job applies them)',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'autogroups_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), rejected (another status), error (no answer, timeout, refused target), gone (410: the subscription is disabled); test_delivered and test_failed for test events',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    setGaugeSources(s) {
      sources = s;
    },
  };
}
