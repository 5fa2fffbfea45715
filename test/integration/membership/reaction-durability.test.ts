// A directory write whose membership reaction fails: the write answers and is stored, the write stays open in the
// outbox, the groups it may affect show it in their `sync` object, and the replay job finishes it exactly once.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { REACTION_REPLAY_JOB } from '../../../src/jobs/reaction-replay.job.js';
import { replayDue } from '../../../src/directory/user-writes.js';
import { UNCONFIRMED_GRACE_MS } from '../../../src/directory/user-events.js';
import { createGroup, defineField, getGroup, historyOf, memberIds, rules, userBody, waitForJob, type Auth } from './membership-helpers.js';

/** An open write (user_event_writes). */
interface OpenWriteDoc {
  _id: string;
  users: number;
  attempts: number;
  failedAt?: Date;
  lastError?: string;
}

describe('Membership: a failed reaction to a directory write', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const db = () => t.service.database.db;
  const openWrites = () => db().collection<OpenWriteDoc>('user_event_writes').find({}).toArray();

  /** An automatic group (department = <value>) that no job has touched: its sync state is idle. */
  const quietGroup = async (department: string) => {
    const g = await createGroup(t, admin, { type: 'automatic', paused: true, rule: rules.field('department', department) });
    // Resumed behind the API's back, so that no group sync runs and only the reaction (or its replay) can add members.
    await db().collection('groups').updateOne({ _id: g.id as never }, { $set: { paused: false } });
    return g.id;
  };

  before(async () => {
    // Jobs are processed only when a test starts them, so that the state between failure and replay is seen.
    t = await startTestService('reaction', { ROLE: 'api' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'department', { label: 'Department', type: 'text' });
  });
  afterEach(() => {
    t.reactionFaults.failures = 0;
  });
  after(async () => t.stop());

  it('when the reaction fails once, then the write answers, the group shows the owed users, and the replay job makes membership exact with one history entry', async () => {
    const groupId = await quietGroup('Sales');
    const other = await quietGroup('Legal');
    const user = userBody({ fields: { department: 'Sales' } });

    t.reactionFaults.failures = 1;
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(201);

    // The write is stored at the version its event claimed; its reaction is not applied, and the write stays open,
    // with the failure.
    expect(await db().collection('users').findOne({ _id: user.externalId as never })).to.include({ version: 1 });
    expect(await db().collection('user_events').findOne({ _id: `${user.externalId}:1` as never })).to.include({ kind: 'user.created', user: user.externalId, version: 1 });
    expect(await memberIds(t, admin, groupId)).to.deep.equal([]);
    const [entry, ...more] = await openWrites();
    expect(more).to.have.length(0);
    expect(entry).to.include({ users: 1, attempts: 1, lastError: 'injected fault: the membership reaction failed' });
    expect(entry!.failedAt).to.be.instanceOf(Date);

    // Every group the write may affect says so (a created user may belong anywhere).
    for (const id of [groupId, other]) {
      const sync = (await getGroup(t, admin, id)).sync as Record<string, unknown>;
      expect(sync.state).to.equal('queued');
      expect(sync.pendingUsers).to.equal(1);
      expect(sync.lastError).to.match(/membership reaction failed \(injected fault/);
    }
    // The replay is queued already, named by the entry and the attempt.
    const jobId = `${REACTION_REPLAY_JOB}:${entry!._id}:1`;
    expect((await t.api.get(`/api/v1/jobs/${jobId}`).set(admin).expect(200)).body.status).to.equal('queued');

    await t.service.scheduler.startProcessing();
    try {
      const job = await waitForJob(t, admin, jobId);
      expect(job.result).to.include({ replayed: 1, failed: 0, users: 1 });
    } finally {
      await t.service.scheduler.stop();
    }

    expect(await memberIds(t, admin, groupId)).to.deep.equal([user.externalId]);
    expect(await memberIds(t, admin, other)).to.deep.equal([]);
    const history = await historyOf(t, admin, groupId);
    expect(history.map((h) => [h.externalId, h.action, h.source])).to.deep.equal([[user.externalId, 'added', 'rule']]);
    expect(history[0]!.actor).to.match(/^key:test hr-feed/);
    expect(await openWrites()).to.deep.equal([]);
    for (const id of [groupId, other]) {
      const group = await getGroup(t, admin, id);
      expect(group.sync).to.not.have.any.keys('pendingUsers', 'lastError');
      expect(group.sync!.state).to.equal('idle');
    }
    expect((await getGroup(t, admin, groupId)).memberCount).to.equal(1);
  });

  it('when a change fails, then only the groups whose rule reads the changed paths show it', async () => {
    const sales = await quietGroup('Sales');
    const byEmail = await createGroup(t, admin, { type: 'automatic', paused: true, rule: rules.emailKeyword('@nowhere.example') });
    await db().collection('groups').updateOne({ _id: byEmail.id as never }, { $set: { paused: false } });
    const user = userBody({ fields: { department: 'Ops' } });
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(201);

    t.reactionFaults.failures = 1;
    await t.api.patch(`/api/v1/users/${user.externalId}`).set(hr).send({ fields: { department: 'Sales' } }).expect(200);
    expect((await getGroup(t, admin, sales)).sync).to.include({ state: 'queued', pendingUsers: 1 });
    expect((await getGroup(t, admin, byEmail.id)).sync).to.include({ state: 'idle' }).and.not.have.any.keys('pendingUsers');

    await t.service.scheduler.startProcessing();
    try {
      const [entry] = await openWrites();
      await waitForJob(t, admin, `${REACTION_REPLAY_JOB}:${entry!._id}:1`);
    } finally {
      await t.service.scheduler.stop();
    }
    expect(await memberIds(t, admin, sales)).to.deep.equal([user.externalId]);
    expect((await getGroup(t, admin, sales)).sync).to.include({ state: 'idle' });
  });

  it('when two replays of one failed write run at once, then the change is applied once: one membership, one history entry, the count exact', async () => {
    const groupId = await quietGroup('Support');
    const users = [userBody({ fields: { department: 'Support' } }), userBody({ fields: { department: 'Support' } })];
    t.reactionFaults.failures = 1;
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    const entry = (await openWrites()).find((e) => e.users === 2)!;
    await Promise.all([replayDue({ only: entry._id }), replayDue({ only: entry._id })]);

    const ids = users.map((u) => u.externalId).sort();
    expect(await memberIds(t, admin, groupId)).to.deep.equal(ids);
    const history = await historyOf(t, admin, groupId);
    expect(history.map((h) => h.externalId).sort()).to.deep.equal(ids);
    expect((await getGroup(t, admin, groupId)).memberCount).to.equal(2);
    expect((await openWrites()).filter((e) => e._id === entry._id)).to.deep.equal([]);
    // The immediate job queued by the failure finds nothing left to do.
    await t.service.scheduler.startProcessing();
    try {
      const job = await waitForJob(t, admin, `${REACTION_REPLAY_JOB}:${entry._id}:1`);
      expect(job.result).to.include({ replayed: 0, failed: 0 });
    } finally {
      await t.service.scheduler.stop();
    }
    expect(await historyOf(t, admin, groupId)).to.have.length(2);
  });

  it('when a reaction inserted a membership and failed before its history, then the replay writes that history entry once', async () => {
    const groupId = await quietGroup('Audit');
    const user = userBody({ fields: { department: 'Audit' } });
    t.reactionFaults.failures = 1;
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(201);
    const entry = (await db().collection<OpenWriteDoc & { at: Date }>('user_event_writes').find({ userIds: user.externalId }).toArray())[0]!;
    // What the failed reaction left behind: its insert (as that writer makes it), with no history entry.
    await db().collection('memberships').insertOne({
      _id: `${groupId}:${user.externalId}` as never,
      group: groupId,
      externalId: user.externalId,
      source: 'rule',
      addedAt: entry.at,
      ruleVersion: 1,
      run: `change:${entry._id}`,
    });
    await replayDue({ only: entry._id });
    await replayDue({ only: entry._id });
    const history = await historyOf(t, admin, groupId);
    expect(history.map((h) => [h.externalId, h.action, h.at])).to.deep.equal([[user.externalId, 'added', entry.at.toISOString()]]);
    expect(await memberIds(t, admin, groupId)).to.deep.equal([user.externalId]);
  });

  it('when a write never confirmed its reaction (its process died while reacting), then after the grace period the group shows it and the sweep finishes it', async () => {
    const groupId = await quietGroup('Finance');
    const user = userBody({ fields: { department: 'Finance' } });
    t.reactionFaults.failures = 1;
    await t.api.put(`/api/v1/users/${user.externalId}`).set(hr).send(user).expect(201);
    // What a dead process leaves: the write as opened before its reaction ran, never marked, and no job.
    const [entry] = (await openWrites()).filter((e) => e.users === 1 && e.attempts === 1);
    const at = new Date(Date.now() - UNCONFIRMED_GRACE_MS - 1000);
    await db().collection('user_event_writes').updateOne({ _id: entry!._id as never }, { $set: { at, attempts: 0 }, $unset: { failedAt: '', lastError: '', nextAttemptAt: '' } });
    await db().collection('jobs').deleteOne({ _id: `${REACTION_REPLAY_JOB}:${entry!._id}:1` as never });
    await db().collection('agendaJobs').deleteMany({ name: REACTION_REPLAY_JOB });

    const sync = (await getGroup(t, admin, groupId)).sync as Record<string, unknown>;
    expect(sync).to.include({ state: 'queued', pendingUsers: 1 });
    expect(sync.lastError).to.match(/did not finish/);

    await t.service.scheduler.startProcessing();
    try {
      const sweep = await t.service.scheduler.enqueue(REACTION_REPLAY_JOB, {});
      const job = await waitForJob(t, admin, sweep);
      expect(job.result).to.include({ replayed: 1, failed: 0, users: 1 });
    } finally {
      await t.service.scheduler.stop();
    }
    expect(await memberIds(t, admin, groupId)).to.deep.equal([user.externalId]);
    expect(await historyOf(t, admin, groupId)).to.have.length(1);
    expect((await getGroup(t, admin, groupId)).sync).to.include({ state: 'idle' }).and.not.have.any.keys('pendingUsers', 'lastError');
  });
});
