// Several worker processes (ROLE=worker) on one database share a partitioned full sync; one is killed in the middle
// of a partition and another finishes its work. The result must be exact either way.
import { expect } from 'chai';
import type { ChildService } from '../../helpers/child-service.js';
import { workersOf } from '../../helpers/workers.js';
import { startTestService, type TestService } from '../../helpers/service.js';
import { createGroup, defineField, memberIds, userBody, waitForJob, type Auth } from './membership-helpers.js';

const TEAMS = ['red', 'green', 'blue', 'gold'];
const USERS = 2400;

describe('Full sync across worker processes', function () {
  this.timeout(180_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  const pool = workersOf(() => t, { takeoverAfterMs: 3_000 });
  const workers = pool.all;
  const groups: Record<string, string> = {};
  const teamOf = new Map<string, string>();
  const db = () => t.service.database.db;

  const startWorker = pool.start;

  before(async () => {
    // This process serves the API only: every job runs in the workers.
    t = await startTestService('workers', { ROLE: 'api' });
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
    for (const team of TEAMS) {
      const g = await createGroup(t, admin, { type: 'automatic', paused: true, rule: { conditions: { all: [{ fact: 'field', params: { key: 'team' }, operator: 'equal', value: team }] } } });
      groups[team] = g.id;
    }
    const users = Array.from({ length: USERS }, (_, i) => userBody({ externalId: `w${String(i).padStart(5, '0')}`, fields: { team: TEAMS[i % TEAMS.length]! } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
    for (const u of users) teamOf.set(u.externalId, (u.fields as { team: string }).team);
    // Resumed behind the API's back: no group sync; the partitions do all the work.
    await db().collection('groups').updateMany({}, { $set: { paused: false } });
    await Promise.all([startWorker(), startWorker()]);
  });

  after(async () => {
    await pool.stopAll();
    await t.stop();
  });

  const expected = (team: string) => [...teamOf].filter(([, tm]) => tm === team).map(([id]) => id).sort();
  const count = (coll: string, filter: Record<string, unknown> = {}) => db().collection(coll).countDocuments(filter);
  /** How many times the run was finished (by its last partition), in every worker's log. */
  const finishedRuns = (runId: string): number =>
    workers.flatMap((w) => w.output).filter((l) => l.includes('"msg":"full sync finished by its last partition"') && l.includes(`"runId":"${runId}"`)).length;
  /** The partition jobs a worker completed, from its log. */
  const completedBy = (w: ChildService): Set<string> =>
    new Set(
      w.output
        .filter((l) => l.includes('"job":"sync-partition"') && l.includes('"msg":"job completed"'))
        .map((l) => (JSON.parse(l) as { jobId: string }).jobId),
    );

  it('when two workers run a partitioned full sync, then they share the partitions and membership and history are exact', async () => {
    const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 8 }).expect(202);
    const job = await waitForJob(t, admin, started.body.jobId as string, { timeoutMs: 120_000 });
    expect(job.result).to.include({ partitions: 8, users: USERS, added: USERS, removed: 0 });
    expect(job.progress).to.deep.equal({ done: USERS, total: USERS });
    // No parent waited for the partitions: the last one finished the run, once.
    expect(finishedRuns(job.id)).to.equal(1);
    for (const team of TEAMS) expect(await memberIds(t, admin, groups[team]!), team).to.deep.equal(expected(team));
    expect(await count('memberships')).to.equal(USERS);
    expect(await count('membership_history', { action: 'added' })).to.equal(USERS);
    expect(await count('membership_history', { action: 'removed' })).to.equal(0);
    // Both workers took partitions. On the embedded database a partition may also have run on both (its lock is
    // not atomic): the counts above show that this did no harm.
    const [a, b] = workers.map(completedBy);
    expect(new Set([...a!, ...b!]).size).to.equal(8);
    expect(a!.size, 'first worker ran partitions').to.be.greaterThan(0);
    expect(b!.size, 'second worker ran partitions').to.be.greaterThan(0);
  });

  it('when a worker is killed in the middle of a partition, then the other finishes it and the result is still exact', async () => {
    // A round: a third of each team moves to the next team behind the API's back (below the safety valve's share),
    // a full sync starts, and the worker running its first partition is killed. A partition can end between being
    // seen running and the kill landing (on a loaded machine); such a round still checks the result, and another
    // round is run, with a fresh worker, until a kill lands mid-partition.
    let killedMidPartition = false;
    for (let round = 0; round < 4 && !killedMidPartition; round++) {
      const moved = [...teamOf.keys()].filter((_, i) => (i + round * 4) % 12 < 4);
      for (let i = 0; i < moved.length; i += 200) {
        const ids = moved.slice(i, i + 200);
        for (const id of ids) teamOf.set(id, TEAMS[(TEAMS.indexOf(teamOf.get(id)!) + 1) % TEAMS.length]!);
        await Promise.all(ids.map((id) => db().collection('users').updateOne({ _id: id as never }, { $set: { 'fields.team': teamOf.get(id) } })));
      }
      const historyBefore = await count('membership_history');
      const removedBefore = await count('membership_history', { action: 'removed' });
      const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 4 }).expect(202);

      // The first partition a worker is running: kill that worker (SIGKILL, no chance to unlock).
      let victim: ChildService | undefined;
      let partitionName: string | undefined;
      const deadline = Date.now() + 60_000;
      while (!victim && Date.now() < deadline) {
        const running = await db().collection('jobs').findOne({ name: 'sync-partition', status: 'running', _id: { $regex: `^${started.body.jobId as string}` } as never });
        const locked = running ? await db().collection('agendaJobs').findOne({ name: 'sync-partition', 'data.jobId': running._id, lockedAt: { $ne: null } }) : null;
        const owner = locked?.lastModifiedBy as string | undefined;
        if (owner) {
          victim = workers.find((w) => owner.endsWith(`-${w.child.pid}`) && w.child.exitCode === null && w.child.signalCode === null);
          partitionName = running!._id as unknown as string;
        } else await new Promise((r) => setTimeout(r, 20));
      }
      expect(victim, 'a worker took a partition').to.not.equal(undefined);
      victim!.child.kill('SIGKILL');
      await victim!.exited;
      // Read from the database, not the victim's log: the record is marked completed before "job completed" is
      // logged, so a kill between the two leaves a completed partition that the log does not show. The victim is
      // dead and cannot write any more, and no one else may take the partition before its lock lapses.
      const atKill = await db().collection('jobs').findOne({ _id: partitionName! as never }, { projection: { status: 1 } });
      killedMidPartition = atKill?.status !== 'completed';
      // The next round (if any) needs two live workers again.
      await startWorker();

      const job = await waitForJob(t, admin, started.body.jobId as string, { timeoutMs: 120_000 });
      expect(job.result).to.include({ partitions: 4, users: USERS });
      // The retried partition, or another that ended after it, finished the run: once.
      expect(finishedRuns(job.id)).to.equal(1);
      for (const team of TEAMS) expect(await memberIds(t, admin, groups[team]!), team).to.deep.equal(expected(team));
      expect(await count('memberships')).to.equal(USERS);
      // One removal and one addition per move, whichever worker wrote them, however often a partition ran.
      expect(await count('membership_history')).to.equal(historyBefore + 2 * moved.length);
      expect(await count('membership_history', { action: 'removed' })).to.equal(removedBefore + moved.length);
      const record = await t.api.get(`/api/v1/jobs/${partitionName!}`).set(admin).expect(200);
      expect(record.body.status).to.equal('completed');
      if (killedMidPartition) {
        const attempts = (await db().collection('jobs').findOne({ _id: partitionName! as never }))!.attempts as number;
        expect(attempts, 'the killed partition ran again').to.be.at.least(2);
      }
    }
    expect(killedMidPartition, 'a kill landed in the middle of a partition').to.equal(true);
  });

  it('when the worker fanning out a full sync is killed, then another takes the full sync over and its result is exact', async () => {
    // A sixth of the users move to the next team behind the API's back (no team loses the safety valve's share):
    // every partition has work.
    const ids = [...teamOf.keys()].filter((_, i) => i % 6 === 5);
    for (const id of ids) teamOf.set(id, TEAMS[(TEAMS.indexOf(teamOf.get(id)!) + 1) % TEAMS.length]!);
    for (let i = 0; i < ids.length; i += 200) {
      await Promise.all(ids.slice(i, i + 200).map((id) => db().collection('users').updateOne({ _id: id as never }, { $set: { 'fields.team': teamOf.get(id) } })));
    }
    const historyBefore = await count('membership_history');
    // Eight partitions, as in the first test: what is taken over is the parent; each partition costs its worker about
    // a second whatever its size, so 32 of them made this test 17 s, mostly partitions after the takeover.
    const started = await t.api.post('/api/v1/sync').set(admin).send({ partitions: 8 }).expect(202);
    const jobId = started.body.jobId as string;
    // The worker that locked the parent job is killed as soon as it has it: preparing the run or fanning it out.
    let victim: ChildService | undefined;
    const deadline = Date.now() + 30_000;
    while (!victim && Date.now() < deadline) {
      const locked = await db().collection('agendaJobs').findOne({ name: 'sync-all', 'data.jobId': jobId, lockedAt: { $ne: null } });
      const owner = locked?.lastModifiedBy as string | undefined;
      if (owner) victim = workers.find((w) => owner.endsWith(`-${w.child.pid}`) && w.child.exitCode === null && w.child.signalCode === null);
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect(victim, 'a worker took the full sync').to.not.equal(undefined);
    victim!.child.kill('SIGKILL');
    await victim!.exited;
    await startWorker();

    // Within the job lock's lifetime (3 s here, takeoverAfterMs), not the five minutes of Agenda's default.
    const job = await waitForJob(t, admin, jobId, { timeoutMs: 60_000 });
    expect(job.result).to.include({ users: USERS });
    expect(finishedRuns(job.id)).to.equal(1);
    for (const team of TEAMS) expect(await memberIds(t, admin, groups[team]!), team).to.deep.equal(expected(team));
    expect(await count('memberships')).to.equal(USERS);
    expect(await count('membership_history')).to.equal(historyBefore + 2 * ids.length);
  });
});
