// A streaming sync (a full-sync partition, a group's sync, a course's class group sync) reads each user once and
// writes later; a directory write in between is reacted to at once. Whatever the interleaving, the end state must
// follow the last write. Here the write lands exactly in the window: from the sync's progress report, after it has
// read the user and before it writes (its additions are flushed, and its removals written, at the end).
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { finishRun, prepareRun, syncPartition } from '../../../src/membership/full-sync.js';
import { syncGroup } from '../../../src/membership/group-sync.js';
import { runClassSync } from '../../../src/class-sync/class-sync.service.js';
import { feedHeadSeq } from '../../../src/snapshot/change-feed.js';
import { writeSnapshot } from '../../../src/snapshot/snapshot-store.js';
import { createGroup, defineField, getGroup, historyOf, memberIds, patchUser, userBody, waitForJob, type Auth } from './membership-helpers.js';
import { memberships } from '../../../src/membership/membership-store.js';

const USERS = 1200;
const valve = { share: 0.5, minMembers: 10 };
const id = (i: number) => `race${String(i).padStart(5, '0')}`;

describe('Streaming syncs and directory writes at the same moment', function () {
  this.timeout(60_000);
  let t: TestService;
  let admin: Auth;
  let hr: Auth;
  let red: string;
  const db = () => t.service.database.db;

  before(async () => {
    t = await startTestService('syncraces');
    admin = await t.auth('admin');
    hr = await t.auth('hr-feed');
    await defineField(t, hr, 'team', { label: 'Team', type: 'text' });
    red = (await createGroup(t, admin, { type: 'automatic', rule: { conditions: { all: [{ fact: 'field', params: { key: 'team' }, operator: 'equal', value: 'red' }] } } })).id;
    const users = Array.from({ length: USERS }, (_, i) => userBody({ externalId: id(i), fields: { team: i === 1 ? 'red' : 'green' } }));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users }).expect(200);
  });
  after(async () => t.stop());

  it('when users change between the partition reading them and writing its decision, then the end state follows the change', async () => {
    expect(await memberIds(t, admin, red)).to.deep.equal([id(1)]);
    // Drift behind the API, which the partition will correct: race00000 should join red, race00001 should leave.
    await db().collection('users').updateOne({ _id: id(0) as never }, { $set: { 'fields.team': 'red' } });
    await db().collection('users').updateOne({ _id: id(1) as never }, { $set: { 'fields.team': 'green' } });

    const run = await prepareRun('race-run', 1);
    // At 1,000 users read: both users were read, and nothing the partition decided about them is written yet.
    const window = midway(async () => {
      await patchUser(t, hr, id(0), { fields: { team: 'green' } });
      await patchUser(t, hr, id(1), { fields: { team: 'red' } });
    });
    await syncPartition(run, 0, { jobId: 'race-run:p0', actor: 'test', valve, progress: window.progress });
    expect(window.landed(), 'the writes landed mid-partition').to.equal(true);

    expect(await memberIds(t, admin, red)).to.deep.equal([id(1)]);
    expect(await db().collection('memberships').countDocuments({ group: red })).to.equal(1);
    // Each step is in the history: race00000 added by the partition and taken out again; race00001 out and back.
    expect((await historyOf(t, admin, red, { externalId: id(0) })).map((h) => h.action)).to.deep.equal(['removed', 'added']);
    expect((await historyOf(t, admin, red, { externalId: id(1) })).map((h) => h.action)).to.deep.equal(['added', 'removed', 'added']);
  });

  it('when a write moves members while a full sync runs, then the count the sync leaves is the number of members', async () => {
    const before = await memberIds(t, admin, red);
    const run = await prepareRun('race-count-run', 1);
    // Read by the partition as green (not a member): joins by its own reaction, which the partition never saw.
    const window = midway(() => patchUser(t, hr, id(5), { fields: { team: 'red' } }));
    const result = await syncPartition(run, 0, { jobId: 'race-count-run:p0', actor: 'test', valve, progress: window.progress });
    expect(window.landed()).to.equal(true);
    await finishRun(run, [result], valve);
    const members = await memberIds(t, admin, red);
    expect(members).to.deep.equal([...before, id(5)].sort());
    expect((await getGroup(t, admin, red)).memberCount).to.equal(members.length);
  });

  it('when users change between a group sync reading them and writing its decision, then the end state follows the change', async () => {
    // Every user on a team is a member: the sync reads all 1,200 and reports progress on the way.
    const teams = await teamGroup(['red', 'green']);
    await patchUser(t, hr, id(3), { fields: { team: 'blue' } });
    // Drift behind the API, which the sync will correct: race00002 should leave, race00003 should join.
    await db().collection('users').updateOne({ _id: id(2) as never }, { $set: { 'fields.team': 'blue' } });
    await db().collection('users').updateOne({ _id: id(3) as never }, { $set: { 'fields.team': 'green' } });

    await syncGroupWith(teams, 'race-group-sync', async () => {
      await patchUser(t, hr, id(2), { fields: { team: 'red' } });
      await patchUser(t, hr, id(3), { fields: { team: 'blue' } });
    });
    const members = new Set(await memberIds(t, admin, teams));
    expect(members.size).to.equal(USERS - 1);
    expect(members.has(id(2)), 'race00002 stays').to.equal(true);
    expect(members.has(id(3)), 'race00003 stays out').to.equal(false);
  });

  it('when snapshots prune the change feed while a sync runs, then the sync still finds what changed meanwhile', async () => {
    const teams = await teamGroup(['red', 'green', 'gold']);
    await patchUser(t, hr, id(7), { fields: { team: 'blue' } });
    await db().collection('users').updateOne({ _id: id(6) as never }, { $set: { 'fields.team': 'blue' } });
    await db().collection('users').updateOne({ _id: id(7) as never }, { $set: { 'fields.team': 'gold' } });

    await syncGroupWith(teams, 'race-pruned-sync', async () => {
      await patchUser(t, hr, id(6), { fields: { team: 'gold' } });
      await patchUser(t, hr, id(7), { fields: { team: 'blue' } });
      // Two snapshots: the second prunes the feed up to the first, past where the sync started.
      await writeSnapshot({ users: new Map(), members: new Map() }, await feedHeadSeq(), 'database');
      await patchUser(t, hr, id(8), { lastName: 'Moved' });
      await writeSnapshot({ users: new Map(), members: new Map() }, await feedHeadSeq(), 'database');
    });
    const members = new Set(await memberIds(t, admin, teams));
    expect(members.has(id(6)), 'race00006 stays').to.equal(true);
    expect(members.has(id(7)), 'race00007 stays out').to.equal(false);
    expect(members.size).to.equal(await db().collection('users').countDocuments({ 'fields.team': { $in: ['red', 'green', 'gold'] } }));
  });

  it('when many writes to one user race each other, then the user ends in the groups their last write decides', async () => {
    // Each write's reaction runs under the user's lock: a reaction that read an earlier state cannot write after a
    // later write's reaction.
    for (let round = 0; round < 3; round++) {
      const writes = Array.from({ length: 24 }, (_, k) => (k % 2 ? 'red' : 'green'));
      const answers = await Promise.all(writes.map((team) => t.api.patch(`/api/v1/users/${id(10)}`).set(hr).send({ fields: { team } })));
      for (const a of answers) expect(a.status).to.equal(200);
      const final = ((await db().collection('users').findOne({ _id: id(10) as never }))!.fields as { team: string }).team;
      const member = (await db().collection('memberships').countDocuments({ _id: `${red}:${id(10)}` as never })) === 1;
      expect(member, `round ${round}: team ${final}`).to.equal(final === 'red');
    }
  });

  it('when a student moves back to their class while the class group sync runs, then they end in that class group only', async () => {
    const course = 'RACE101';
    await t.api.put(`/api/v1/courses/${course}`).set(hr).send({ title: 'Races' }).expect(201);
    const students = Array.from({ length: 600 }, (_, i) => id(i));
    const enrolment = { status: 'in_progress', role: 'student', class: 'Tutorial_1|THU|01:00PM|C05' };
    await t.api.post('/api/v1/enrollments/batch').set(hr).send({ enrollments: students.map((externalId) => ({ course, externalId, ...enrolment })) }).expect(200);
    await t.api.put(`/api/v1/courses/${course}/class-sync`).set(admin).send({ enabled: true }).expect(201);
    const groupId = async () => String((await db().collection('groups').findOne({ name: '[Tutorial_1|THU|01:00PM|C05]', scope: course }))!._id);
    for (let i = 0; i < 200 && !(await db().collection('groups').findOne({ name: '[Tutorial_1|THU|01:00PM|C05]', scope: course })); i++) await new Promise((r) => setTimeout(r, 50));
    await waitForCount(await groupId(), 600);
    // Drift behind the API: race00010 is in another class, so the sync will move them there.
    await db().collection('users').updateOne({ _id: id(10) as never }, { $set: { [`enrollments.${course}.class`]: 'Tutorial_2|FRI|10:00AM|C07' } });

    // Back in the first class: their reaction finds them a member there (the sync has not moved them yet).
    const window = midway(async () => {
      await t.api.put(`/api/v1/courses/${course}/enrollments/${id(10)}`).set(hr).send(enrolment).expect(200);
    }, 500);
    await runClassSync(course, { jobId: 'race-class-sync', at: new Date(), actor: 'test', confirmRemovals: false, valve, progress: window.progress, now: new Date() });
    expect(window.landed(), 'the enrolment landed mid-sync').to.equal(true);
    expect(await db().collection('memberships').countDocuments({ _id: `${await groupId()}:${id(10)}` as never })).to.equal(1);
    await waitForCount(await groupId(), 600);
    const second = await db().collection('groups').findOne({ name: '[Tutorial_2|FRI|10:00AM|C07]', scope: course });
    if (second) expect(await db().collection('memberships').countDocuments({ group: second._id })).to.equal(0);
  });

  /**
   * A sync's progress report that runs `write` once, after `after` users were read and before the sync writes (it
   * writes at its end): the window a directory write must not fall through.
   */
  function midway(write: () => Promise<void>, after = 1000) {
    let ran = false;
    return {
      progress: async (done: number, total: number) => {
        if (ran || done < after || done === total) return;
        ran = true;
        await write();
      },
      landed: () => ran,
    };
  }

  /** A group's sync (the job's work) with `write` landing in its window. */
  async function syncGroupWith(groupId: string, jobId: string, write: () => Promise<void>): Promise<void> {
    const window = midway(write);
    await syncGroup(groupId, { jobId, at: new Date(), actor: 'test', confirmRemovals: false, valve, progress: window.progress });
    expect(window.landed(), 'the writes landed mid-sync').to.equal(true);
  }

  /** An automatic group of everyone on one of `teams`, once its first sync has filled it. */
  async function teamGroup(teams: string[]): Promise<string> {
    const groupId = (await createGroup(t, admin, { type: 'automatic', rule: { conditions: { any: teams.map((value) => ({ fact: 'field', params: { key: 'team' }, operator: 'equal', value })) } } })).id;
    await waitForCount(groupId, await db().collection('users').countDocuments({ 'fields.team': { $in: teams } }));
    return groupId;
  }

  async function waitForCount(groupId: string, n: number): Promise<void> {
    for (let i = 0; i < 200 && (await db().collection('memberships').countDocuments({ group: groupId })) !== n; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await db().collection('memberships').countDocuments({ group: groupId })).to.equal(n);
  }
  it("when a rule changes after a user's reaction read the old one and before its write landed, then the user ends by the new rule", async () => {
    const rule = (team: string) => ({ conditions: { all: [{ fact: 'field', params: { key: 'team' }, operator: 'equal', value: team }] } });
    const blue = (await createGroup(t, admin, { type: 'automatic', rule: rule('blue') })).id;
    const user = id(20); // on team green, and written by no other test here
    // The reaction's insert of its membership waits until the rule has changed and that rule's sync is done: the
    // sync reads the memberships before the insert lands, so it cannot see it.
    const coll = memberships() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = coll.insertMany!;
    let reached!: () => void;
    const atInsert = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    coll.insertMany = async function (this: unknown, ...args: unknown[]) {
      if ((args[0] as Array<{ _id: string }>).some((d) => d._id === `${blue}:${user}`)) {
        reached();
        await released;
      }
      return original.apply(this, args);
    };
    try {
      const patched = patchUser(t, hr, user, { fields: { team: 'blue' } });
      await Promise.race([atInsert, patched.then(() => Promise.reject(new Error('the PATCH answered without inserting the membership')))]);
      const put = await t.api.put(`/api/v1/groups/${blue}/rule`).set(admin).send({ rule: rule('purple') }).expect(200);
      await waitForJob(t, admin, put.body.jobId as string);
      release();
      await patched;
    } finally {
      coll.insertMany = original;
    }
    expect(await memberIds(t, admin, blue)).to.deep.equal([]);
    expect((await getGroup(t, admin, blue)).memberCount).to.equal(0);
  });
});
