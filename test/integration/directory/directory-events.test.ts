import { expect } from 'chai';
import { startTestService, type TestService } from '../../helpers/service.js';
import { subscribeDirectoryChanges } from '../../../src/directory/directory-events.js';
import { aUser, defineFields, recordChanges } from './directory-helpers.js';

describe('Directory: change events', () => {
  let t: TestService;
  let hr: { Authorization: string };
  before(async () => {
    t = await startTestService('events');
    hr = await t.auth('hr-feed');
    await defineFields(t);
  });
  after(async () => t.stop());

  const during = async (work: () => Promise<unknown>) => {
    const changes = recordChanges();
    try {
      await work();
      return changes.publishes.map((p) => p.map(({ kind, externalId, changed }) => ({ kind, externalId, changed })));
    } finally {
      changes.stop();
    }
  };

  it('when a user is created, changed in several ways and deleted, then each request publishes once with exactly the changed paths', async () => {
    const { externalId, ...body } = aUser({ email: 'Events.One@example.com', branch: 'north', fields: { department: 'Sales', jobTitle: 'Rep' } });
    const id = externalId as string;
    const url = `/api/v1/users/${id}`;
    expect(await during(() => t.api.put(url).set(hr).send(body).expect(201))).to.deep.equal([[{ kind: 'user.created', externalId: id, changed: [] }]]);
    expect(
      await during(() => t.api.put(url).set(hr).send({ ...body, email: 'events.one@example.com', branch: 'south', fields: { department: 'People', employeeNumber: 4 } }).expect(200)),
    ).to.deep.equal([[{ kind: 'user.changed', externalId: id, changed: ['email', 'branch', 'fields.department', 'fields.employeeNumber', 'fields.jobTitle'] }]]);
    expect(await during(() => t.api.patch(url).set(hr).send({ status: 'inactive', fields: { employeeNumber: null } }).expect(200))).to.deep.equal([
      [{ kind: 'user.changed', externalId: id, changed: ['status', 'fields.employeeNumber'] }],
    ]);
    expect(await during(() => t.api.patch(url).set(hr).send({ status: 'inactive', fields: { employeeNumber: null, department: 'People' } }).expect(200))).to.deep.equal([]);
    expect(await during(() => t.api.patch(url).set(hr).send({}).expect(200))).to.deep.equal([]);
    expect(await during(() => t.api.delete(url).set(hr).expect(204))).to.deep.equal([[{ kind: 'user.deleted', externalId: id, changed: [] }]]);
  });

  it('when a request is refused, then nothing is published', async () => {
    const { externalId, ...body } = aUser();
    expect(await during(() => t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send({ ...body, type: 'x' }).expect(400))).to.deep.equal([]);
    expect(await during(() => t.api.post('/api/v1/users/batch').set(hr).send({ users: [{ ...body }] }).expect(200))).to.deep.equal([]);
  });

  it('when a batch changes many users, then it is one publish holding every change, each naming the actor', async () => {
    const records = Array.from({ length: 30 }, () => aUser());
    await t.api.post('/api/v1/users/batch').set(hr).send({ users: records }).expect(200);
    const changes = recordChanges();
    try {
      const changed = records.map((r, i) => (i % 3 === 0 ? { ...r, fields: { isManager: true } } : r));
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: changed }).expect(200);
      expect(changes.publishes).to.have.length(1);
      expect(changes.publishes[0]).to.have.length(10);
      for (const c of changes.publishes[0]!) {
        expect(c).to.deep.include({ kind: 'user.changed', changed: ['fields.isManager'] });
        expect(c.actor).to.match(/^key:test hr-feed/);
      }
    } finally {
      changes.stop();
    }
  });

  it('when a listener throws, then the write still succeeds, is stored, and the other listeners still hear it', async () => {
    const heard: string[] = [];
    const stopBad = subscribeDirectoryChanges(async () => {
      throw new Error('membership is down');
    });
    const stopGood = subscribeDirectoryChanges(async (changes) => {
      heard.push(...changes.map((c) => c.externalId));
    });
    try {
      const { externalId, ...body } = aUser();
      await t.api.put(`/api/v1/users/${externalId as string}`).set(hr).send(body).expect(201);
      expect(heard).to.deep.equal([externalId]);
      expect(await t.service.database.db.collection('users').countDocuments({ _id: externalId as never })).to.equal(1);
      const batch = await t.api.post('/api/v1/users/batch').set(hr).send({ users: [aUser()] }).expect(200);
      expect(batch.body.created).to.equal(1);
    } finally {
      stopBad();
      stopGood();
    }
  });

  it('when a listener throws, then the changes stay journaled and the replay job delivers them again once it recovers', async () => {
    const records = [aUser(), aUser()];
    const ids = records.map((r) => r.externalId as string);
    // This write's entry (the test above leaves entries of its own, owed to its listener).
    const journal = () =>
      t.service.database.db.collection<{ _id: string; attempts: number }>('directory_reactions').find({ 'changes.externalId': ids[0] }).toArray();
    let failing = true;
    const heard: string[][] = [];
    const stop = subscribeDirectoryChanges(async (changes) => {
      if (failing) throw new Error('listener is down');
      heard.push(changes.map((c) => c.externalId));
    });
    try {
      await t.api.post('/api/v1/users/batch').set(hr).send({ users: records }).expect(200);
      const [entry, ...more] = await journal();
      expect(more).to.have.length(0);
      expect(entry!.attempts).to.equal(1);
      // Its immediate replay fails too while the listener is down, and backs off.
      const first = `reaction-replay:${entry!._id}:1`;
      await waitFor(async () => (await t.api.get(`/api/v1/jobs/${first}`).set(await t.auth('admin'))).body.status === 'failed');
      expect((await journal())[0]!.attempts).to.equal(2);

      failing = false;
      const again = await t.service.scheduler.enqueue('reaction-replay', { entryId: entry!._id });
      await waitFor(async () => (await t.api.get(`/api/v1/jobs/${again}`).set(await t.auth('admin'))).body.status === 'completed');
      expect(heard).to.deep.equal([ids]);
      expect(await journal()).to.deep.equal([]);
    } finally {
      stop();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
