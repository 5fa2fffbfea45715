// A full sync ends by itself: the last partition to finish settles the groups and completes the parent's record.
// Nothing polls; finishing twice at once (two partitions ending together) completes the parent once.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { prepareRun, syncPartition } from '../../../src/membership/full-sync.js';
import { finishRunIfLast, partitionJobId } from '../../../src/jobs/full-sync-run.js';
import { createMetrics } from '../../../src/platform/metrics.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createGroup, defineField, getGroup, userBody, type Auth } from './membership-helpers.js';

const valve = { share: 0.5, minMembers: 10 };

describe('Full sync: the last partition finishes the run', () => {
  let t: TestService;
  let admin: Auth;
  let groupId: string;
  const db = () => t.service.database.db;
  const jobs = () => db().collection<{ _id: string } & Record<string, unknown>>('jobs');
  const enqueued: string[] = [];
  const deps = (metrics = createMetrics()) => ({
    valve,
    metrics,
    logger: createLogger('silent'),
    enqueue: async (_name: string, _data: object, opts?: { jobId?: string }) => {
      enqueued.push(opts?.jobId ?? '');
      return opts?.jobId ?? '';
    },
  });

  before(async () => {
    // An API-only process: no job runs here but the steps the test drives.
    t = await startTestService('finish', { ROLE: 'api' });
    admin = await t.auth('admin');
    const hr = await t.auth('hr-feed');
    await defineField(t, hr, 'floor', { label: 'Floor', type: 'text' });
    const g = await createGroup(t, admin, { type: 'automatic', paused: true, rule: { conditions: { all: [{ fact: 'field', params: { key: 'floor' }, operator: 'equal', value: 'one' }] } } });
    groupId = g.id;
    const users = Array.from({ length: 60 }, (_, i) => userBody({ externalId: `fin${String(i).padStart(3, '0')}`, fields: { floor: i % 2 ? 'one' : 'two' } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    await db().collection('groups').updateOne({ _id: groupId as never }, { $set: { paused: false } });
  });
  after(async () => t.stop());

  /** A run of two partitions whose parent record is running, as the handed-off parent leaves it. */
  async function startRun(runId: string) {
    const run = await prepareRun(runId, 2);
    await jobs().insertOne({ _id: runId, name: 'sync-all', status: 'running', data: {}, attempts: 1, createdAt: new Date(), updatedAt: new Date() });
    for (let i = 0; i < 2; i++) {
      await jobs().insertOne({ _id: partitionJobId(runId, i), name: 'sync-partition', status: 'running', data: {}, attempts: 1, createdAt: new Date(), updatedAt: new Date() });
    }
    return run;
  }
  const completePartition = async (runId: string, i: number) => {
    const run = (await prepareRun(runId))!;
    const result = await syncPartition(run, i, { jobId: partitionJobId(runId, i), actor: 'test', valve });
    await jobs().updateOne({ _id: partitionJobId(runId, i) }, { $set: { status: 'completed', result } });
    return result;
  };

  it('when a partition finishes before the others, then the parent stays running and shows its progress', async () => {
    const run = await startRun('fin-1');
    const first = await completePartition('fin-1', 0);
    await finishRunIfLast('fin-1', deps());
    const parent = (await jobs().findOne({ _id: 'fin-1' }))!;
    expect(parent.status).to.equal('running');
    expect(parent.progress).to.deep.equal({ done: first.users, total: run.users });
    expect(enqueued).to.not.include('fin-1:snapshot');
  });

  it('when the last partition finishes, twice at once, then the parent completes once, with the groups settled', async () => {
    await completePartition('fin-1', 1);
    const metrics = createMetrics();
    await Promise.all([finishRunIfLast('fin-1', deps(metrics)), finishRunIfLast('fin-1', deps(metrics))]);
    const parent = (await jobs().findOne({ _id: 'fin-1' }))!;
    expect(parent.status).to.equal('completed');
    expect(parent.result).to.include({ partitions: 2, users: 60, added: 30, removed: 0 });
    expect(parent.progress).to.deep.equal({ done: 60, total: 60 });
    const completed = (await metrics.registry.getSingleMetric('autogroups_job_runs_total')!.get()).values.filter((v) => v.labels.outcome === 'completed');
    expect(completed.reduce((n, v) => n + v.value, 0), 'the run counted once').to.equal(1);
    const durations = (await metrics.registry.getSingleMetric('autogroups_sync_duration_seconds')!.get()).values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
    expect(durations.reduce((n, v) => n + v.value, 0), 'its duration observed once').to.equal(1);
    // The rebuild is queued by each finisher under one id: one job.
    expect(new Set(enqueued.filter((id) => id.startsWith('fin-1:'))).size).to.equal(1);
    const view = await getGroup(t, admin, groupId);
    expect(view.memberCount).to.equal(30);
    expect(view.sync).to.include({ state: 'idle' });
    // A late finisher (a partition re-run after its worker died) changes nothing.
    await finishRunIfLast('fin-1', deps());
    expect((await jobs().findOne({ _id: 'fin-1' }))!.finishedAt).to.deep.equal(parent.finishedAt);
  });

  it('when a partition failed, then the last one to finish fails the run, naming it', async () => {
    await startRun('fin-2');
    await completePartition('fin-2', 0);
    await jobs().updateOne({ _id: partitionJobId('fin-2', 1) }, { $set: { status: 'failed', error: 'boom' } });
    await finishRunIfLast('fin-2', deps());
    const parent = (await jobs().findOne({ _id: 'fin-2' }))!;
    expect(parent.status).to.equal('failed');
    expect(parent.error).to.equal('the full sync did not finish: partition 1: boom');
  });
});
