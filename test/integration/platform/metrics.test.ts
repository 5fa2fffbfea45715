// What /metrics tells an operator about membership and jobs: every membership change by source and action
// (syncs included), sync durations by kind, job failures, held removals, jobs waiting, reactions owed.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { REACTION_REPLAY_JOB } from '../../../src/jobs/reaction-replay.job.js';
import { createGroup, defineField, getGroup, rules, syncGroup, uniq, userBody, waitForJob, type Auth } from '../membership/membership-helpers.js';

type Labels = Record<string, string>;

/** The value of one sample (0 when absent): the series named, with exactly these labels. */
function sample(text: string, name: string, labels: Labels = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found: Labels = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[pair[1]!] = pair[2]!;
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('metrics for operators', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const scrape = async () => (await t.api.get('/metrics').expect(200)).text;
  const changes = (text: string, action: string, source: string) => sample(text, 'autogroups_membership_changes_total', { action, source });

  before(async () => {
    t = await startTestService('metrics');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
  });
  afterEach(() => {
    t.reactionFaults.failures = 0;
  });
  after(async () => t.stop());

  it('when a group sync adds 42 members, then the rule additions grow by 42 and the group sync duration is observed', async () => {
    const team = uniq('t');
    const users = Array.from({ length: 42 }, () => userBody({ fields: { team } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    const before = await scrape();
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    expect((await getGroup(t, admin, group.id)).memberCount).to.equal(42);
    const after = await scrape();
    expect(changes(after, 'added', 'rule') - changes(before, 'added', 'rule')).to.equal(42);
    const syncs = (text: string) => sample(text, 'autogroups_sync_duration_seconds_count', { kind: 'group', outcome: 'completed' });
    expect(syncs(after) - syncs(before)).to.equal(1);
    const runs = (text: string) => sample(text, 'autogroups_job_runs_total', { job: 'sync-group', outcome: 'completed' });
    expect(runs(after) - runs(before)).to.equal(1);
  });

  it('when a full sync adds members and a directory change removes one, then both are counted, with full, partition and change durations', async () => {
    const team = uniq('t');
    const group = await createGroup(t, admin, { type: 'automatic', paused: true, rule: rules.field('team', team) });
    const users = Array.from({ length: 7 }, () => userBody({ fields: { team } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    await t.service.database.db.collection('groups').updateOne({ _id: group.id as never }, { $set: { paused: false } });
    const before = await scrape();
    const res = await t.api.post('/api/v1/sync').set(admin).send({}).expect(202);
    await waitForJob(t, admin, res.body.jobId as string, { timeoutMs: 30_000 });
    await t.api.patch(`/api/v1/users/${users[0]!.externalId}`).set(hr).send({ fields: { team: null } }).expect(200);
    const after = await scrape();
    expect(changes(after, 'added', 'rule') - changes(before, 'added', 'rule')).to.equal(7);
    expect(changes(after, 'removed', 'rule') - changes(before, 'removed', 'rule')).to.equal(1);
    for (const kind of ['full', 'partition', 'change']) {
      const n = (text: string) => sample(text, 'autogroups_sync_duration_seconds_count', { kind, outcome: 'completed' });
      expect(n(after) - n(before), kind).to.be.at.least(1);
    }
  });

  it('when members are added and removed by hand, then they count with source manual', async () => {
    const group = await createGroup(t, admin, { type: 'manual' });
    const id = userBody().externalId;
    await t.api.put(`/api/v1/users/${id}`).set(hr).send(userBody({ externalId: id })).expect(201);
    const before = await scrape();
    await t.api.put(`/api/v1/groups/${group.id}/members/${id}`).set(admin).expect(201);
    await t.api.put(`/api/v1/groups/${group.id}/members/${id}`).set(admin).expect(200);
    await t.api.delete(`/api/v1/groups/${group.id}/members/${id}`).set(admin).expect(204);
    const after = await scrape();
    expect(changes(after, 'added', 'manual') - changes(before, 'added', 'manual')).to.equal(1);
    expect(changes(after, 'removed', 'manual') - changes(before, 'removed', 'manual')).to.equal(1);
  });

  it('when a reaction and its replay fail, then the failures and the owed users show, and clear once a replay succeeds', async () => {
    const team = uniq('t');
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    const before = await scrape();
    t.reactionFaults.failures = 2;
    const user = userBody({ fields: { team } });
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(201);
    const openWrites = t.service.database.db.collection<{ _id: string; userIds: string[] }>('user_event_writes');
    const entry = await openWrites.findOne({ userIds: user.externalId });
    await waitForJob(t, admin, `${REACTION_REPLAY_JOB}:${entry!._id}:1`, { allowFailure: true });
    const failed = await scrape();
    const jobFailures = (text: string) => sample(text, 'autogroups_job_failures_total', { job: REACTION_REPLAY_JOB });
    expect(jobFailures(failed) - jobFailures(before)).to.equal(1);
    const reactionFailures = (text: string) => sample(text, 'autogroups_directory_reaction_failures_total');
    expect(reactionFailures(failed) - reactionFailures(before)).to.equal(1);
    expect(sample(failed, 'autogroups_directory_reactions_owed', { unit: 'users' })).to.equal(1);
    expect(sample(failed, 'autogroups_directory_reactions_owed', { unit: 'writes' })).to.equal(1);
    const failedChanges = (text: string) => sample(text, 'autogroups_sync_duration_seconds_count', { kind: 'change', outcome: 'failed' });
    expect(failedChanges(failed) - failedChanges(before)).to.equal(2);
    // The replay failed too: the group says failed, not merely queued.
    expect((await getGroup(t, admin, group.id)).sync).to.include({ state: 'failed', pendingUsers: 1 });

    const jobId = await t.service.scheduler.enqueue(REACTION_REPLAY_JOB, { writeId: entry!._id });
    await waitForJob(t, admin, jobId);
    const done = await scrape();
    expect(sample(done, 'autogroups_directory_reactions_owed', { unit: 'users' })).to.equal(0);
    expect(changes(done, 'added', 'rule') - changes(failed, 'added', 'rule')).to.equal(1);
    expect((await getGroup(t, admin, group.id)).sync).to.include({ state: 'idle' });
  });

  it('when the safety valve holds removals, then the held removals show by group until they are confirmed', async () => {
    const team = uniq('t');
    const users = Array.from({ length: 14 }, () => userBody({ fields: { team } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    const group = await createGroup(t, admin, { type: 'automatic', rule: rules.field('team', team) });
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: users.slice(0, 10).map((u) => ({ ...u, fields: {} })) }).expect(200);
    expect(sample(await scrape(), 'autogroups_held_removals', { group: group.id })).to.equal(10);
    await syncGroup(t, admin, group.id, { confirmRemovals: true });
    expect(sample(await scrape(), 'autogroups_held_removals', { group: group.id })).to.equal(0);
  });

  it('when a job is due and no worker takes it, then it shows as waiting by name', async () => {
    const name = uniq('nobody-runs-');
    await t.service.scheduler.agenda.now(name, {});
    expect(sample(await scrape(), 'autogroups_jobs_waiting', { job: name })).to.equal(1);
  });
});
