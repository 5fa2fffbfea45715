import { systemClock } from '../../../src/platform/clock.js';
import { expect } from 'chai';
import { defineNightlySyncJob, NIGHTLY_SYNC_JOB } from '../../../src/jobs/nightly-sync.job.js';
import { SYNC_ALL_JOB } from '../../../src/jobs/sync-all.job.js';
import { CLASS_SYNC_ALL_JOB } from '../../../src/jobs/class-sync.job.js';
import type { JobContext, JobDefinition, Scheduler } from '../../../src/jobs/scheduler.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetrics } from '../../../src/platform/metrics.js';

describe('the nightly sync job', () => {
  it('when it runs, then it starts one full sync and one class group sync run named by the cron occurrence, so two workers running it start one of each', async () => {
    let definition: JobDefinition<Record<string, never>> | undefined;
    const scheduler = { define: (d: JobDefinition<Record<string, never>>) => (definition = d) } as unknown as Scheduler;
    const config = loadConfig({ SYNC_CRON: '0 2 * * *' });
    defineNightlySyncJob({ scheduler, config, logger: createLogger('silent'), metrics: createMetrics(), clock: systemClock });
    expect(definition!.name).to.equal(NIGHTLY_SYNC_JOB);

    const enqueued: Array<{ name: string; jobId?: string }> = [];
    const ctx = {
      jobId: 'nightly-run',
      logger: createLogger('silent'),
      progress: async () => undefined,
      enqueue: async (name: string, _data: object, opts?: { jobId?: string }) => {
        enqueued.push({ name, ...(opts?.jobId ? { jobId: opts.jobId } : {}) });
        return opts?.jobId ?? 'random';
      },
    } as unknown as JobContext;
    await definition!.run({}, ctx);
    await definition!.run({}, ctx);
    const full = enqueued.filter((e) => e.name === SYNC_ALL_JOB);
    expect(full).to.have.length(2);
    expect(full[0]!.jobId).to.match(/^sync-all:nightly:\d{4}-\d{2}-\d{2}T02:00:00\.000Z$/);
    expect(full[1]!.jobId).to.equal(full[0]!.jobId);
    // And the class group syncs of the courses where that is on, named by the same occurrence.
    const classes = enqueued.filter((e) => e.name === CLASS_SYNC_ALL_JOB);
    expect(classes).to.have.length(2);
    expect(classes[0]!.jobId).to.equal(`${CLASS_SYNC_ALL_JOB}:nightly:${full[0]!.jobId!.slice('sync-all:nightly:'.length)}`);
    expect(classes[1]!.jobId).to.equal(classes[0]!.jobId);
    expect(enqueued).to.have.length(4);
  });
});
