import { expect } from 'chai';
import { defineNightlySyncJob, NIGHTLY_SYNC_JOB } from '../../../src/jobs/nightly-sync.job.js';
import { SYNC_ALL_JOB } from '../../../src/jobs/sync-all.job.js';
import type { JobContext, JobDefinition, Scheduler } from '../../../src/jobs/scheduler.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetrics } from '../../../src/platform/metrics.js';

describe('the nightly sync job', () => {
  it('when it runs, then it starts one full sync named by the cron occurrence, so two workers running it start one', async () => {
    let definition: JobDefinition<Record<string, never>> | undefined;
    const scheduler = { define: (d: JobDefinition<Record<string, never>>) => (definition = d) } as unknown as Scheduler;
    const config = loadConfig({ SYNC_CRON: '0 2 * * *' });
    defineNightlySyncJob({ scheduler, config, logger: createLogger('silent'), metrics: createMetrics() });
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
    expect(enqueued).to.have.length(2);
    expect(enqueued[0]!.name).to.equal(SYNC_ALL_JOB);
    expect(enqueued[0]!.jobId).to.match(/^sync-all:nightly:\d{4}-\d{2}-\d{2}T02:00:00\.000Z$/);
    expect(enqueued[1]!.jobId).to.equal(enqueued[0]!.jobId);
  });
});
