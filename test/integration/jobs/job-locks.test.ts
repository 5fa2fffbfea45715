// A job's lock says whether its worker is alive: a running job renews it, so a job that runs longer than the lock's
// lifetime without reporting progress is not taken over by another worker, and a job whose worker is gone is. Two
// schedulers on one database stand for two workers (the lock is in the database, not in the process).
import { expect } from 'chai';
import { createLogger } from '../../../src/platform/logger.js';
import { createScheduler, type Scheduler } from '../../../src/jobs/scheduler.js';
import { JobRunModel } from '../../../src/jobs/job-run.model.js';
import { startTestService, type TestService } from '../../helpers/service.js';

const LIFETIME_MS = 1_000;

describe('Job locks across workers', function () {
  this.timeout(60_000);
  let t: TestService;
  const schedulers: Scheduler[] = [];

  before(async () => {
    // ROLE=api: the service's own scheduler processes nothing; the two below are the workers.
    t = await startTestService('joblocks', { ROLE: 'api' });
  });
  after(async () => {
    for (const s of schedulers) await s.stop();
    await t.stop();
  });

  async function worker(name: string, runs: string[], runMs: number): Promise<Scheduler> {
    const scheduler = await createScheduler({
      db: t.service.database.db,
      logger: createLogger('silent'),
      pollMs: 100,
      lockLifetimeMs: LIFETIME_MS,
      workerName: name,
    });
    scheduler.define({
      name: 'slow-without-progress',
      concurrency: 1,
      async run() {
        runs.push(name);
        await new Promise((r) => setTimeout(r, runMs));
        return { by: name };
      },
    });
    schedulers.push(scheduler);
    return scheduler;
  }

  it('when a job runs three lock lifetimes without reporting progress, then no other worker runs it again', async () => {
    const runs: string[] = [];
    const first = await worker('worker-a', runs, 3 * LIFETIME_MS);
    const jobId = await first.enqueue('slow-without-progress', {});
    await first.startProcessing();
    const deadline = Date.now() + 10_000;
    while (runs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(runs, 'worker-a started the job').to.deep.equal(['worker-a']);

    // The second worker polls the whole time the first runs, and long after its lock would have lapsed unrenewed.
    const second = await worker('worker-b', runs, 0);
    await second.startProcessing();
    while (Date.now() < deadline) {
      const run = await JobRunModel.findById(jobId).lean();
      if (run?.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 2 * LIFETIME_MS));

    const run = await JobRunModel.findById(jobId).lean();
    expect(run?.status).to.equal('completed');
    expect(run?.attempts, 'attempts').to.equal(1);
    expect(runs, 'runs').to.deep.equal(['worker-a']);
  });
});
