import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { prepareRun, syncPartition, partitionCount } from '../../../src/membership/full-sync.js';
import {
  createGroup,
  defineField,
  getGroup,
  historyOf,
  memberIds,
  userBody,
  waitForJob,
  type Auth,
} from './membership-helpers.js';

const TEAMS = ['red', 'green', 'blue'];
const valve = { share: 0.5, minMembers: 10 };

describe('Full sync: partitions of the directory, each safe to run twice or twice at once', () => {
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const groups: Record<string, string> = {};
  const users: Array<{ externalId: string; team: string }> = [];
  const db = () => t.service.database.db;

  before(async () => {
    t = await startTestService('fullsync');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
    // Paused groups: the directory feed below moves nobody, so the full sync has everything to do.
    for (const team of TEAMS) {
      const g = await createGroup(t, admin, { type: 'automatic', paused: true, rule: { conditions: { all: [{ fact: 'field', params: { key: 'team' }, operator: 'equal', value: team }] } } });
      groups[team] = g.id;
    }
    const batch = Array.from({ length: 240 }, (_, i) => userBody({ externalId: `fs${String(i).padStart(4, '0')}`, fields: { team: TEAMS[i % 3]! } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: batch }).expect(200);
    users.push(...batch.map((u) => ({ externalId: u.externalId, team: (u.fields as { team: string }).team })));
    // Resume the groups behind the API's back, so that no group sync runs: only the partitions will.
    await db().collection('groups').updateMany({}, { $set: { paused: false } });
  });
  after(async () => t.stop());

  const expected = (team: string) => users.filter((u) => u.team === team).map((u) => u.externalId).sort();
  const historyCount = async (filter: Record<string, unknown> = {}) => db().collection('membership_history').countDocuments(filter);

  it('when the same partitions run twice at once, then membership is exact and each addition has one history entry', async () => {
    const run = await prepareRun('test-run-1', 4);
    expect(partitionCount(run)).to.equal(4);
    expect(run.users).to.equal(240);
    // A second prepare of the same run reads the same bounds back.
    expect((await prepareRun('test-run-1', 9)).bounds).to.deep.equal(run.bounds);
    const results = await Promise.all(
      [0, 1, 2, 3].flatMap((i) => [
        syncPartition(run, i, { jobId: `test-run-1:p${i}`, actor: 'test', valve }),
        syncPartition(run, i, { jobId: `test-run-1:p${i}`, actor: 'test', valve }),
      ]),
    );
    expect(results.filter((r, i) => i % 2 === 0).reduce((n, r) => n + r.users, 0)).to.equal(240);
    for (const team of TEAMS) expect(await memberIds(t, admin, groups[team]!), team).to.deep.equal(expected(team));
    expect(await db().collection('memberships').countDocuments()).to.equal(240);
    expect(await historyCount({ action: 'added' })).to.equal(240);
    expect(await historyCount({ action: 'removed' })).to.equal(0);
  });

  it('when a partition is run again by the job that crashed between a membership and its history, then the history is completed, once', async () => {
    const victims = await db().collection('memberships').find({ run: 'test-run-1:p1' }).limit(5).toArray();
    expect(victims.length).to.equal(5);
    for (const m of victims) await db().collection('membership_history').deleteOne({ group: m.group, externalId: m.externalId, action: 'added' });
    expect(await historyCount({ action: 'added' })).to.equal(235);
    const run = await prepareRun('test-run-1');
    await syncPartition(run, 1, { jobId: 'test-run-1:p1', actor: 'test', valve });
    expect(await historyCount({ action: 'added' })).to.equal(240);
  });

  it('when users move between teams and two runs with different partitions race, then each move is one removal and one addition', async () => {
    const moved = users.slice(0, 30);
    for (const u of moved) {
      const next = TEAMS[(TEAMS.indexOf(u.team) + 1) % 3]!;
      // Behind the API's back: drift that only a full sync repairs.
      await db().collection('users').updateOne({ _id: u.externalId as never }, { $set: { 'fields.team': next } });
      u.team = next;
    }
    const run = await prepareRun('test-run-2', 3);
    const other = await prepareRun('test-run-3', 2);
    await Promise.all([
      ...[0, 1, 2].flatMap((i) => [0, 1].map(() => syncPartition(run, i, { jobId: `test-run-2:p${i}`, actor: 'test', valve }))),
      ...[0, 1].map((i) => syncPartition(other, i, { jobId: `test-run-3:p${i}`, actor: 'test', valve })),
    ]);
    for (const team of TEAMS) expect(await memberIds(t, admin, groups[team]!), team).to.deep.equal(expected(team));
    expect(await historyCount({ action: 'added' })).to.equal(270);
    expect(await historyCount({ action: 'removed' })).to.equal(30);
  });

  it('when a full sync runs through the API with several partitions, then progress is real and a second run changes nothing', async () => {
    const before = await historyCount();
    const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 5 }).expect(202);
    const job = await waitForJob(t, admin, started.body.jobId as string);
    expect(job.progress).to.deep.equal({ done: 240, total: 240 });
    expect(job.result).to.include({ partitions: 5, users: 240, added: 0, removed: 0 });
    expect(await historyCount()).to.equal(before);
    for (const team of TEAMS) {
      const view = await getGroup(t, admin, groups[team]!);
      expect(view.memberCount, team).to.equal(expected(team).length);
      expect(view.sync, team).to.include({ state: 'idle' });
    }
    for (let i = 0; i < 5; i++) {
      const partition = await t.api.get(`/api/v1/jobs/${started.body.jobId as string}:p${i}`).set(admin).expect(200);
      expect(partition.body.status).to.equal('completed');
      expect(partition.body.progress.done).to.equal(partition.body.progress.total);
    }
  });

  it('when a membership was deleted and an exclusion added behind the API, then the full sync finds both (it compares with what is stored, not with a copy)', async () => {
    const [lost, shut] = [users[1]!, users[2]!];
    await db().collection('memberships').deleteOne({ _id: `${groups[lost.team]!}:${lost.externalId}` as never });
    await db().collection('exclusions').insertOne({ _id: `${groups[shut.team]!}:${shut.externalId}` as never, group: groups[shut.team]!, externalId: shut.externalId, createdAt: new Date() });
    const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 2 }).expect(202);
    const job = await waitForJob(t, admin, started.body.jobId as string);
    expect(job.result).to.include({ added: 1, removed: 1 });
    expect(await memberIds(t, admin, groups[lost.team]!)).to.include(lost.externalId);
    expect(await memberIds(t, admin, groups[shut.team]!)).to.not.include(shut.externalId);
    expect((await historyOf(t, admin, groups[shut.team]!, { externalId: shut.externalId }))[0]).to.include({ action: 'removed' });
    await db().collection('exclusions').deleteOne({ _id: `${groups[shut.team]!}:${shut.externalId}` as never });
    await t.api.post('/api/v1/sync').set(admin).send({}).expect(202).then((r) => waitForJob(t, admin, r.body.jobId as string));
    expect(await memberIds(t, admin, groups[shut.team]!)).to.include(shut.externalId);
  });

  it('when a group was deleted behind the API and a user vanished without an event, then the full sync cleans both up', async () => {
    const gone = users.pop()!;
    await db().collection('users').deleteOne({ _id: gone.externalId as never });
    await db().collection('memberships').insertOne({ _id: `grp_ffffffffffffffff:${users[0]!.externalId}` as never, group: 'grp_ffffffffffffffff', externalId: users[0]!.externalId, source: 'rule', addedAt: new Date() });
    const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 2 }).expect(202);
    const job = await waitForJob(t, admin, started.body.jobId as string);
    expect(job.result).to.include({ removed: 1 });
    expect(await db().collection('memberships').countDocuments({ group: 'grp_ffffffffffffffff' })).to.equal(0);
    expect(await memberIds(t, admin, groups[gone.team]!)).to.deep.equal(expected(gone.team));
    const entry = (await historyOf(t, admin, groups[gone.team]!, { externalId: gone.externalId }))[0]!;
    expect(entry).to.include({ action: 'removed', reason: 'user deleted' });
    expect(entry.actor).to.match(/^job:sync-partition/);
  });
});
