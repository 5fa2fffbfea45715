// The directory's outbox (src/directory/user-events.ts) as the writes leave it: one event per changed user per
// write, `<externalId>:<version>`, the user stored at that version, and the write closed once membership followed.
import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { replayDue } from '../../../src/directory/user-writes.js';
import { aUser, defineFields, recordChanges } from './directory-helpers.js';

describe('Directory: the outbox of user changes', () => {
  let t: TestService;
  let hr: { Authorization: string };
  const db = () => t.service.database.db;
  const events = (user: string) => db().collection('user_events').find({ user }).sort({ version: 1 }).toArray();
  const openWrites = () => db().collection<{ _id: string; userIds: string[] }>('user_event_writes').find({}).toArray();
  const versionOf = async (id: string) => (await db().collection('users').findOne({ _id: id as never }))?.version as number | undefined;

  before(async () => {
    t = await startTestService('events');
    hr = await t.auth('hr-feed');
    await defineFields(t);
  });
  afterEach(() => {
    t.reactionFaults.failures = 0;
  });
  after(async () => t.stop());

  const during = async (work: () => Promise<unknown>) => {
    const changes = recordChanges(t);
    await work();
    changes.stop();
    return (await changes.writes()).map((p) => p.map(({ kind, externalId, changed }) => ({ kind, externalId, changed })));
  };

  it('when a user is created, changed in several ways and deleted, then each request is one write of one event with exactly the changed paths, and the versions count up', async () => {
    const { externalId, ...body } = aUser({ email: 'Events.One@example.com', branch: 'north', fields: { department: 'Sales', jobTitle: 'Rep' } });
    const id = externalId as string;
    const url = `/api/v1/users/${id}`;
    expect(await during(() => t.api.put(url).set(hr).send(body).expect(201))).to.deep.equal([[{ kind: 'user.created', externalId: id, changed: [] }]]);
    expect(await versionOf(id)).to.equal(1);
    expect(
      await during(() => t.api.put(url).set(hr).send({ ...body, email: 'events.one@example.com', branch: 'south', fields: { department: 'People', employeeNumber: 4 } }).expect(200)),
    ).to.deep.equal([[{ kind: 'user.changed', externalId: id, changed: ['email', 'branch', 'fields.department', 'fields.employeeNumber', 'fields.jobTitle'] }]]);
    expect(await during(() => t.api.patch(url).set(hr).send({ status: 'inactive', fields: { employeeNumber: null } }).expect(200))).to.deep.equal([
      [{ kind: 'user.changed', externalId: id, changed: ['status', 'fields.employeeNumber'] }],
    ]);
    expect(await versionOf(id)).to.equal(3);
    // A write that changes nothing claims no version.
    expect(await during(() => t.api.patch(url).set(hr).send({ status: 'inactive', fields: { employeeNumber: null, department: 'People' } }).expect(200))).to.deep.equal([]);
    expect(await during(() => t.api.patch(url).set(hr).send({}).expect(200))).to.deep.equal([]);
    expect(await versionOf(id)).to.equal(3);
    expect(await during(() => t.api.delete(url).set(hr).expect(204))).to.deep.equal([[{ kind: 'user.deleted', externalId: id, changed: [] }]]);
    expect((await events(id)).map((e) => [e._id, e.version, e.kind])).to.deep.equal([
      [`${id}:1`, 1, 'user.created'],
      [`${id}:2`, 2, 'user.changed'],
      [`${id}:3`, 3, 'user.changed'],
      [`${id}:4`, 4, 'user.deleted'],
    ]);
    // Created again: the versions go on after the delete.
    await t.api.put(url).set(hr).send(body).expect(201);
    expect(await versionOf(id)).to.equal(5);
    expect(await openWrites()).to.deep.equal([]);
  });

  it('when a request is refused, then nothing is written to the outbox', async () => {
    const { externalId, ...body } = aUser();
    expect(await during(() => t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send({ ...body, type: 'x' }).expect(400))).to.deep.equal([]);
    expect(await during(() => t.api.post('/api/v1/users/batch').set(hr).send({ users: [{ ...body }] }).expect(200))).to.deep.equal([]);
  });

  it('when a batch changes many users, then it is one write holding every change, each naming the actor', async () => {
    const records = Array.from({ length: 30 }, () => aUser());
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: records }).expect(200);
    const changes = recordChanges(t);
    const changed = records.map((r, i) => (i % 3 === 0 ? { ...r, fields: { isManager: true } } : r));
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: changed }).expect(200);
    const writes = await changes.writes();
    expect(writes).to.have.length(1);
    expect(writes[0]).to.have.length(10);
    for (const c of writes[0]!) {
      expect(c).to.deep.include({ kind: 'user.changed', changed: ['fields.isManager'] });
      expect(c.actor).to.match(/^key:test hr-feed/);
    }
    for (const r of records.filter((_, i) => i % 3 === 0)) expect(await versionOf(r.externalId as string)).to.equal(2);
    for (const r of records.filter((_, i) => i % 3 !== 0)) expect(await versionOf(r.externalId as string)).to.equal(1);
  });

  it('when membership fails to follow a write, then the write still succeeds, is stored, stays open, and the replay job closes it once membership recovers', async () => {
    const records = [aUser(), aUser()];
    const ids = records.map((r) => r.externalId as string);
    const mine = async () => (await openWrites()).filter((w) => w.userIds.includes(ids[0]!));
    t.reactionFaults.failures = 2;
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: records }).expect(200);
    expect(await versionOf(ids[0]!)).to.equal(1);
    const [write, ...more] = await mine();
    expect(more).to.have.length(0);
    expect(write).to.include({ attempts: 1, users: 2 });
    // Its immediate replay fails too while membership is down, and backs off.
    const admin = await t.auth('admin');
    const first = `reaction-replay:${write!._id}:1`;
    await waitFor(async () => (await t.api.get(`/api/v1/jobs/${first}`).set(admin)).body.status === 'failed');
    expect((await mine())[0]).to.include({ attempts: 2 });

    const again = await t.service.scheduler.enqueue('reaction-replay', { writeId: write!._id });
    await waitFor(async () => (await t.api.get(`/api/v1/jobs/${again}`).set(admin)).body.status === 'completed');
    expect(await mine()).to.deep.equal([]);
    // The events stay, as the users' change log.
    expect((await events(ids[0]!)).map((e) => e.write)).to.deep.equal([write!._id]);
  });

  it('when a version was claimed by a write that never stored the user (its process died), then the next write of the user takes that version, and the replay of the dead write discards its event', async () => {
    const { externalId, ...body } = aUser({ fields: { department: 'Sales' } });
    const id = externalId as string;
    await t.api.put(`/api/v1/users/${id}`).set(hr).send(body).expect(201);
    // What a writer that died after claiming version 2 leaves: its open write and its event, the user still at 1.
    const deadAt = new Date(Date.now() - 60_000);
    await db().collection('user_event_writes').insertOne({ _id: 'dead-write' as never, at: deadAt, actor: 'key:gone', userIds: [id], users: 1, paths: ['fields.department'], whole: false, attempts: 0 });
    await db().collection('user_events').insertOne({ _id: `${id}:2` as never, user: id, version: 2, write: 'dead-write', at: deadAt, kind: 'user.changed', changed: ['fields.department'], actor: 'key:gone' });

    await t.api.patch(`/api/v1/users/${id}`).set(hr).send({ fields: { jobTitle: 'Lead' } }).expect(200);
    expect(await versionOf(id)).to.equal(2);
    const [, second] = await events(id);
    expect(second).to.deep.include({ _id: `${id}:2`, changed: ['fields.jobTitle'] });
    expect(second!.write).to.not.equal('dead-write');

    const replay = await replayDue({ only: 'dead-write' });
    expect(replay).to.include({ replayed: 1, failed: 0 });
    expect((await openWrites()).map((w) => w._id)).to.not.include('dead-write');
    expect((await events(id)).map((e) => e.write)).to.not.include('dead-write');
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
